#!/usr/bin/env bash
# Installs the explorer's browser files (GraphiQL, its explorer plugin, React: exact versions in
# sigma_graphql/server/explorer/package.json and package-lock.json) from the npm registry with
# `npm ci`, which checks every package against the lockfile's sha512 integrity hash and runs no
# install scripts here. They are cached in sigma_graphql/server/explorer/node_modules
# (git-ignored), like the database jars: nothing is fetched again while the manifest and the
# lockfile are unchanged, and the server then needs no internet access
# (sigma_graphql/server/explorer_page.py). `make explorer`; `make run` and `make test` call it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/sigma_graphql/server/explorer"
SUM="$(cat "$DIR/package.json" "$DIR/package-lock.json" | cksum | cut -d' ' -f1)"
STAMP="$DIR/node_modules/.installed-$SUM"

log() { echo "[explorer] $*" >&2; }

[ -f "$STAMP" ] && exit 0
if ! command -v npm >/dev/null; then
  log "npm is missing: installing Debian's nodejs and npm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
log "installing the explorer's npm packages (first run, or the lockfile changed)"
npm ci --prefix "$DIR" --ignore-scripts --no-audit --no-fund --loglevel=error
touch "$STAMP"
