#!/usr/bin/env bash
# Starts, waits for and stops the two database servers the application needs, without Docker:
#   Apache Cassandra 5.0.8 (cassandra-all jars from Maven Central) on OpenJDK 17, and
#   MongoDB: mongo:7 through compose.yml when a Docker engine answers, otherwise the wire-compatible
#   de.bwaldvogel:mongo-java-server 1.47.0 through .ci/mongo/MongoLauncher.java.
# Usage: .ci/services.sh up|down|status [cassandra|mongo|nats]   (all when not named)
# NATS (issue 17, the event broker between API processes): nats-server v2.15.2 built with
#   `go install` into .ci/nats/bin (git-ignored) on first use; data folder $DIR/nats.
# Settings (environment):
#   SIGMA_SERVICES_DIR     data, logs and pid files            (default .ci/tmp/services)
#   SIGMA_CASSANDRA_PORT   CQL port                             (default 9042)
#   SIGMA_CASSANDRA_STORAGE_PORT  internode port                (default 7000)
#   SIGMA_CASSANDRA_HEAP   JVM heap, at most 1G recommended     (default 1G)
#   SIGMA_MONGO_PORT       MongoDB port                         (default 27017)
#   SIGMA_MONGO_PERSIST    1 keeps Mongo data on disk (H2 file) (default 0: in memory)
#   SIGMA_SERVICES_TIMEOUT seconds to wait for readiness        (default 180)
#   SIGMA_CASSANDRA_UNSAFE 1 adds -Dcassandra.unsafesystem=true (default 0): schema changes then
#                          skip the commit log, so a kill -9 loses every keyspace; only for
#                          throw-away test servers (README: measured gain)
#   SIGMA_NATS_PORT        NATS client port (the event broker)  (default 4222)
#   SIGMA_NATS_MONITOR_PORT NATS monitoring port (/healthz)     (default NATS port + 4000)
# Durability: both servers survive kill -9 of their process with every acknowledged write
# (Cassandra's periodic commit log and the H2 file are written before the answer, into the OS
# page cache); an OS crash or power loss can lose the last seconds (no fsync per write).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${SIGMA_SERVICES_DIR:-$ROOT/.ci/tmp/services}"
CQL_PORT="${SIGMA_CASSANDRA_PORT:-9042}"
STORAGE_PORT="${SIGMA_CASSANDRA_STORAGE_PORT:-7000}"
HEAP="${SIGMA_CASSANDRA_HEAP:-1G}"
MONGO_PORT="${SIGMA_MONGO_PORT:-27017}"
PERSIST="${SIGMA_MONGO_PERSIST:-0}"
TIMEOUT="${SIGMA_SERVICES_TIMEOUT:-180}"
UNSAFE="${SIGMA_CASSANDRA_UNSAFE:-0}"
ONLY="${2:-}"
NATS_PORT="${SIGMA_NATS_PORT:-4222}"
NATS_MONITOR_PORT="${SIGMA_NATS_MONITOR_PORT:-$((NATS_PORT + 4000))}"
NATS_VERSION=v2.15.2
C="$ROOT/.ci/cassandra"
M="$ROOT/.ci/mongo"
JAVA="${SIGMA_JAVA:-java}"

log() { echo "[services] $*" >&2; }

fetch_jars() {  # $1 = folder with pom.xml; jars are cached in $1/lib (git-ignored)
  if [ ! -f "$1/lib/.complete" ]; then
    command -v mvn >/dev/null || { log "mvn is required to download jars"; exit 1; }
    log "downloading jars for $(basename "$1") from Maven Central (first run only)"
    mvn -B -q -f "$1/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$1/lib"
    touch "$1/lib/.complete"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A killed server whose parent is gone stays a zombie where PID 1 does not reap (containers):
# kill -0 still succeeds for it, so its state decides.
running() { kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; }

alive() { [ -f "$1" ] && running "$(cat "$1")"; }

check_java() {
  local v
  v=$("$JAVA" -version 2>&1 | head -1)
  case "$v" in
    *'"17.'*|*'"11.'*) ;;
    *) log "Cassandra 5.0 needs Java 11 or 17, found: $v (set SIGMA_JAVA)"; exit 1 ;;
  esac
}

docker_engine() { command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; }

start_cassandra() {
  local data="$DIR/cassandra"
  if alive "$data/cassandra.pid"; then log "cassandra already running"; return; fi
  fetch_jars "$C"; check_java
  mkdir -p "$data/logs"
  # Ports are settings: write a copy of the committed yaml with them appended.
  { cat "$C/cassandra.yaml"; echo "native_transport_port: $CQL_PORT"; echo "storage_port: $STORAGE_PORT"; } > "$data/cassandra.yaml"
  local jpms unsafe=""
  jpms=$(grep -E '^(--add-|-D)' "$C/jvm17.flags" | tr '\n' ' ')
  [ "$UNSAFE" = "1" ] && unsafe="-Dcassandra.unsafesystem=true"
  # shellcheck disable=SC2086
  nohup "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -Xss256k -ea -da:net.openhft... -XX:+UseG1GC \
    -XX:+UseThreadPriorities -XX:+PerfDisableSharedMem $jpms \
    -javaagent:"$C/lib/jamm-0.4.0.jar" -Djava.net.preferIPv4Stack=true \
    -Dcassandra.config="file://$data/cassandra.yaml" \
    -Dcassandra.storagedir="$data" -Dcassandra.logdir="$data/logs" \
    -Dlogback.configurationFile="$C/logback.xml" \
    -Dcassandra-foreground=yes \
    -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.load_ring_state=false \
    -Dcassandra.initial_token=0 $unsafe \
    -cp "$C/lib/*" org.apache.cassandra.service.CassandraDaemon \
    > "$data/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$data/cassandra.pid"
  log "cassandra starting (pid $(cat "$data/cassandra.pid"), CQL port $CQL_PORT, heap $HEAP)"
}

start_mongo() {
  local data="$DIR/mongo"
  mkdir -p "$data"
  if alive "$data/mongo.pid"; then log "mongo already running"; return; fi
  if [ "${SIGMA_MONGO_DOCKER:-auto}" != "0" ] && docker_engine; then
    log "Docker engine found: starting mongo:7 from compose.yml"
    SIGMA_MONGO_PORT="$MONGO_PORT" docker compose -f "$ROOT/compose.yml" up -d mongo
    echo docker > "$data/mode"
    return
  fi
  fetch_jars "$M"
  local store=""
  [ "$PERSIST" = "1" ] && store="$data/mongo.h2"
  nohup "$JAVA" -Xmx512m -cp "$M/lib/*" "$M/MongoLauncher.java" 127.0.0.1 "$MONGO_PORT" "$store" \
    > "$data/stdout.log" 2>&1 < /dev/null &
  echo $! > "$data/mongo.pid"
  echo java > "$data/mode"
  log "mongo-java-server starting (pid $(cat "$data/mongo.pid"), port $MONGO_PORT${store:+, data $store})"
}

wants() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

# The broker binary: built once from the Go module (the machine's GOPROXY/GOFLAGS), cached.
NATS_BIN="$ROOT/.ci/nats/bin/nats-server"
fetch_nats() {
  if [ ! -x "$NATS_BIN" ] || ! "$NATS_BIN" --version 2>/dev/null | grep -q "${NATS_VERSION#v}"; then
    command -v go >/dev/null || { log "go is required to build nats-server"; exit 1; }
    log "building nats-server $NATS_VERSION with go install (first run only)"
    GOBIN="$ROOT/.ci/nats/bin" go install "github.com/nats-io/nats-server/v2@$NATS_VERSION"
  fi
}

start_nats() {
  local data="$DIR/nats"
  mkdir -p "$data"
  if alive "$data/nats.pid"; then log "nats already running"; return; fi
  fetch_nats
  # Core NATS only (no JetStream): events are a live feed, Cassandra keeps the record.
  nohup "$NATS_BIN" -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -sd "$data" \
    > "$data/stdout.log" 2>&1 < /dev/null &
  echo $! > "$data/nats.pid"
  log "nats-server starting (pid $(cat "$data/nats.pid"), port $NATS_PORT, monitor $NATS_MONITOR_PORT)"
}

wait_nats() {
  local start=$SECONDS
  while [ $((SECONDS - start)) -lt "$TIMEOUT" ]; do
    if curl -fsS "http://127.0.0.1:$NATS_MONITOR_PORT/healthz" >/dev/null 2>&1; then
      log "nats ready after $((SECONDS - start)) s"; return 0
    fi
    if ! alive "$DIR/nats/nats.pid"; then
      log "nats exited; last log lines:"; tail -40 "$DIR/nats/stdout.log" >&2; return 1
    fi
    sleep 0.2
  done
  log "nats not ready after $TIMEOUT s"; return 1
}

mongo_listening() {
  [ "$(cat "$DIR/mongo/mode" 2>/dev/null)" != java ] || grep -q 'mongo-java-server listening' "$DIR/mongo/stdout.log" 2>/dev/null
}

wait_ready() {
  local start=$SECONDS cass_ok=0 mongo_ok=0
  wants cassandra || cass_ok=1
  wants mongo || mongo_ok=1
  while [ $((SECONDS - start)) -lt "$TIMEOUT" ]; do
    if [ $cass_ok = 0 ] && grep -q 'Startup complete' "$DIR/cassandra/logs/stdout.log" 2>/dev/null && port_open "$CQL_PORT"; then
      cass_ok=1; log "cassandra ready after $((SECONDS - start)) s"
    fi
    # The launcher's own line as well as the port: a connect to a port of the ephemeral range
    # nobody listens on yet can connect to itself (TCP simultaneous open) and look open.
    if [ $mongo_ok = 0 ] && mongo_listening && port_open "$MONGO_PORT"; then
      mongo_ok=1; log "mongo ready after $((SECONDS - start)) s"
    fi
    [ $cass_ok = 1 ] && [ $mongo_ok = 1 ] && return 0
    if [ $cass_ok = 0 ] && ! alive "$DIR/cassandra/cassandra.pid"; then
      log "cassandra exited; last log lines:"; tail -40 "$DIR/cassandra/logs/stdout.log" >&2; return 1
    fi
    if [ $mongo_ok = 0 ] && [ "$(cat "$DIR/mongo/mode" 2>/dev/null)" = java ] && ! alive "$DIR/mongo/mongo.pid"; then
      log "mongo exited; last log lines:"; tail -40 "$DIR/mongo/stdout.log" >&2; return 1
    fi
    sleep 1
  done
  log "timed out after $TIMEOUT s"
  [ $cass_ok = 1 ] || { log "cassandra not ready; last log lines:"; tail -40 "$DIR/cassandra/logs/stdout.log" >&2; }
  [ $mongo_ok = 1 ] || { log "mongo not ready; last log lines:"; tail -40 "$DIR/mongo/stdout.log" >&2 2>/dev/null || true; }
  return 1
}

stop_pid() {  # $1 pid file, $2 name
  if alive "$1"; then
    local pid; pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do running "$pid" || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
    log "$2 stopped"
  fi
  rm -f "$1"
}

case "$ONLY" in
  ""|cassandra|mongo|nats) ;;
  *) echo "usage: $0 up|down|status [cassandra|mongo|nats]" >&2; exit 2 ;;
esac

case "${1:-}" in
  up)
    mkdir -p "$DIR"
    if wants cassandra; then start_cassandra; fi
    if wants mongo; then start_mongo; fi
    if wants nats; then start_nats; fi
    if wants cassandra || wants mongo; then wait_ready; fi
    if wants nats; then wait_nats; fi
    ;;
  down)
    if wants cassandra; then stop_pid "$DIR/cassandra/cassandra.pid" cassandra; fi
    if wants mongo; then
      if [ "$(cat "$DIR/mongo/mode" 2>/dev/null)" = docker ]; then
        docker compose -f "$ROOT/compose.yml" stop mongo || true
      fi
      stop_pid "$DIR/mongo/mongo.pid" mongo
    fi
    if wants nats; then stop_pid "$DIR/nats/nats.pid" nats; fi
    ;;
  status)
    alive "$DIR/cassandra/cassandra.pid" && echo "cassandra: running" || echo "cassandra: stopped"
    port_open "$MONGO_PORT" && echo "mongo: listening on $MONGO_PORT" || echo "mongo: stopped"
    alive "$DIR/nats/nats.pid" && echo "nats: running on $NATS_PORT" || echo "nats: stopped"
    ;;
  *) echo "usage: $0 up|down|status [cassandra|mongo|nats]" >&2; exit 2 ;;
esac
