"""`make bench` / `python -m bench.run`: B0-B3 on the five shapes, interleaved, one table row each.

Each variant is one uvicorn process (uvloop, httptools, no access log) pinned to CPU 1; wrk runs
on CPU 0 (the databases are whatever the environment runs; they are not re-pinned here). Per run:
requests/s, latency percentiles (wrk, closed loop), server CPU per request from
/proc/<pid>/stat, peak RSS (VmHWM), database round trips of one request (dbRoundTrips).
Responses are checked before any load: a variant whose probe returns errors is not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.shapes import SHAPES, Shape

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "post.lua"
PYTHON = sys.executable
SERVER_CPU, LOAD_CPU = "1", "0"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYNTHETIC_OWNER = "owner{:06d}@synthetic.sigma-umkm.local"
STAFF_EMAIL = "bench-pejabat@sigma-umkm.local"

APPS = {
    "b0": "bench.servers:app",
    "b1": "bench.servers:app",
    "b2": "bench.servers:app",
    "b3": "bench.b3:app",
    "b3x": "bench.b3:app",
    "b3s": "bench.b3:app",
    "lean": "bench.b3:lean",
    "leanx": "bench.b3:lean",
}
# Extra B3 configurations (bench/b3.py), reported as their own rows and E_total columns.
B3_EXTRA = ("b3x", "b3s")


@dataclass
class Measure:
    rps: float
    p50: float
    p95: float
    p99: float
    cpu_us: float
    bad: int


@dataclass
class VariantResult:
    status: str = "ok"
    round_trips: int | None = None
    rss_mb: float | None = None
    runs: list[Measure] = field(default_factory=list)

    def median(self, attr: str) -> float | None:
        values = [getattr(m, attr) for m in self.runs]
        return statistics.median(values) if values else None


# ------------------------------------------------------------------ data and identities


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env["SIGMA_MONGO_DB"] = args.database
    env["SIGMA_CASSANDRA_KEYSPACE"] = args.database
    env["SIGMA_EXPOSE_ROUND_TRIPS"] = "true"
    env.setdefault("SIGMA_ENV", "development")
    env["PYTHONPATH"] = str(ROOT)
    return env


def add_dataset_args(p: argparse.ArgumentParser, *, synthetic: int) -> None:
    """The data-set options every bench command shares (prepare_data reads them)."""
    p.add_argument("--synthetic", type=int, default=synthetic, help="UMKMs to seed if missing")
    p.add_argument("--skip-seed", action="store_true", help="use the data as it is")
    p.add_argument("--rebuild", action="store_true", help="recompute aggregates first")
    p.add_argument("--database", default="sigma_bench", help="Mongo database and keyspace")


async def prepare_data(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Migrates, seeds `--synthetic N` if the database holds fewer, creates sessions."""
    from db import sessions, users
    from db.drivers.handles import Databases
    from db.maintenance.migrations import migrate_all
    from db.maintenance.seed import META, last_complete_months, run_seed, stable_id
    from sigma_graphql.core.passwords import hash_password
    from sigma_graphql.core.settings import load_settings

    settings = load_settings(env)
    await migrate_all(settings)
    dbs = Databases.open(settings)
    try:
        marker = await dbs.mongo[META].find_one({"_id": "seed"})
        # Both halves must be there: a Cassandra restarted on a RAM disk comes back empty.
        last_logs = await dbs.cassandra.execute(
            "SELECT tahun FROM umkm_log_years WHERE umkm_id = ?",
            (stable_id("umkm-synthetic", str(args.synthetic - 1)),),
        )
        seeded = (
            marker is not None and int(marker.get("synthetic", 0)) >= args.synthetic and last_logs
        )
        if not args.skip_seed and not seeded:
            print(f"# seeding --synthetic {args.synthetic} into {args.database} (slow)", flush=True)
            await run_seed(settings, demo=False, synthetic=args.synthetic, if_empty=False)
        elif args.rebuild:
            from db.maintenance.rebuild import rebuild_aggregates

            print(f"# {await rebuild_aggregates(dbs)}")
        staff_id = stable_id("user", STAFF_EMAIL)
        if await users.find_by_id(dbs.mongo, staff_id) is None:
            await users.insert(
                dbs.mongo,
                users.new_user_doc(
                    email=STAFF_EMAIL,
                    password_hash=hash_password("bench-pejabat-2026"),
                    role="PEJABAT",
                    nama="Pejabat Benchmark",
                    user_id=staff_id,
                ),
            )
        ttl = 6 * 3600
        owner_tokens = []
        for i in range(16):
            owner_id = stable_id("user", SYNTHETIC_OWNER.format(i))
            token, _ = await sessions.create(dbs.mongo, owner_id, ttl)
            umkm_id = stable_id("umkm-synthetic", str(i * 5 + i % 5))
            owner_tokens.append((token, str(umkm_id)))
        staff_token, _ = await sessions.create(dbs.mongo, staff_id, ttl)
        months = last_complete_months(24)
        return {
            "tokens": {
                "PUBLIC": "",
                "UMKM_OWNER": owner_tokens[0][0],
                "PEJABAT": staff_token,
            },
            "write_pool": ";".join(f"{t},{u}" for t, u in owner_tokens),
            "months": ",".join(f"{y}:{m}" for y, m in months),
            "probe_month": months[-1],
            "probe_umkm": owner_tokens[0][1],
            "year": months[-1][0],
        }
    finally:
        await dbs.close()


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(
        self,
        variant: str,
        shape: Shape,
        env: dict[str, str],
        body_file: Path,
        *,
        workers: int = 1,
        cpus: str = SERVER_CPU,
    ) -> None:
        self.variant = variant
        self.port = free_port()
        senv = dict(env, BENCH_VARIANT=variant, BENCH_SHAPE=shape.key)
        senv["BENCH_BODY_FILE"] = str(body_file)
        cmd = [
            "taskset", "-c", cpus, PYTHON, "-m", "uvicorn", APPS[variant],
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=senv)
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{variant} did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def pids(self) -> list[int]:
        """The server and, with --workers > 1, uvicorn's worker processes."""
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                todo.extend(int(c) for c in task.read_text().split())
        return found

    def cpu_ticks(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)
        return total

    def rss_peak_mb(self) -> float:
        return sum(_status_mb(pid, "VmHWM:") for pid in self.pids())

    def rss_mb(self) -> float:
        return sum(_status_mb(pid, "VmRSS:") for pid in self.pids())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _status_mb(pid: int, key: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def post(url: str, body: bytes, token: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        loaded: dict[str, Any] = json.loads(resp.read())
        return loaded


def wrk(url: str, seconds: float, connections: int, env: dict[str, str]) -> dict[str, Any]:
    cmd = [
        "taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "10s", "-s", str(LUA), url,
    ]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("BADBODY "):
            print(f"# bad answer from {url}: {line[8:]}", flush=True)
        if line.startswith("BENCH "):
            loaded: dict[str, Any] = json.loads(line[6:])
            return loaded
    raise RuntimeError(f"wrk printed no result:\n{out}")


# ------------------------------------------------------------------ one shape


def _strip(payload: dict[str, Any]) -> Any:
    return payload.get("data")


@dataclass
class Bodies:
    """What one shape sends: the probe request, wrk's body file and wrk's environment."""

    token: str
    probe: bytes
    load_file: Path
    wrk_env: dict[str, str]


def shape_bodies(shape: Shape, env: dict[str, str], ids: dict[str, Any], tmp: Path) -> Bodies:
    token = ids["tokens"][shape.audience]
    variables = shape.variables
    if shape.key == "e":
        tahun, bulan = ids["probe_month"]
        variables["input"].update(umkmId=ids["probe_umkm"], tahun=tahun, bulan=bulan)
    elif "tahun" in variables:
        variables["tahun"] = ids["year"]
    probe_body = json.dumps(
        {"query": shape.query, "variables": variables, "operationName": shape.operation_name}
    ).encode()
    load_body = tmp / f"{shape.key}-load.json"
    if shape.key == "e":
        template = dict(variables)
        template["input"] = dict(
            variables["input"], umkmId="$UMKM", tahun="$TAHUN", bulan="$BULAN", omzet="$OMZET"
        )
        text = json.dumps({"query": shape.query, "variables": template})
        for name in ("TAHUN", "BULAN", "OMZET"):
            text = text.replace(f'"${name}"', f"${name}")
        load_body.write_text(text)
    else:
        load_body.write_bytes(probe_body)
    wenv = dict(env, BENCH_BODY_FILE=str(load_body), BENCH_TOKEN=token)
    if shape.key == "e":
        wenv.update(BENCH_WRITE_POOL=ids["write_pool"], BENCH_MONTHS=ids["months"])
    return Bodies(token, probe_body, load_body, wenv)


def run_shape(
    shape: Shape, args: argparse.Namespace, env: dict[str, str], ids: dict[str, Any], tmp: Path
) -> dict[str, VariantResult]:
    results = {v: VariantResult() for v in args.variants}
    bodies = shape_bodies(shape, env, ids, tmp)
    token, probe_body, wenv = bodies.token, bodies.probe, bodies.wrk_env
    golden_file = tmp / f"{shape.key}-golden.json"
    golden_file.write_bytes(b"{}")

    wanted = list(args.variants)
    servers: dict[str, Server] = {}
    try:
        # B1 first: its response is the reference and B0's canned bytes.
        order = sorted(wanted, key=lambda v: (v != "b1", v))
        golden: Any = None
        for variant in order:
            if variant == "b0" and golden is None:
                results["b0"].status = "no reference (B1 failed)"
                continue
            servers[variant] = Server(
                variant, shape, env, golden_file, workers=args.workers, cpus=args.server_cpus
            )
            try:
                # Twice: the second answer shows the steady state (budget lease taken, public
                # answer cached), which is what the load runs measure.
                post(servers[variant].url, probe_body, token)
                answer = post(servers[variant].url, probe_body, token)
            except Exception as exc:
                results[variant].status = f"probe failed: {exc}"
                servers.pop(variant).stop()
                continue
            if answer.get("errors"):
                codes = sorted(
                    {str((e.get("extensions") or {}).get("code")) for e in answer["errors"]}
                )
                results[variant].status = "errors: " + ",".join(codes)
                print(f"# {shape.key} {variant}: {answer['errors'][0]}", flush=True)
                servers.pop(variant).stop()
                continue
            trips = (answer.get("extensions") or {}).get("dbRoundTrips") or {}
            results[variant].round_trips = trips.get("total")
            if variant == "b1":
                golden = _strip(answer)
                golden_file.write_bytes(
                    json.dumps({"data": golden}, separators=(",", ":")).encode()
                )
            elif variant != "b0" and golden is not None and _strip(answer) != golden:
                results[variant].status = "ok (data differs from B1)"
        live = [v for v in wanted if v in servers]
        for _round in range(args.rounds):
            for variant in [*live, *reversed(live)]:
                server = servers[variant]
                wrk(server.url, args.warmup, args.connections, wenv)
                before = server.cpu_ticks()
                out = wrk(server.url, args.duration, args.connections, wenv)
                ticks = server.cpu_ticks() - before
                seconds = out["duration_us"] / 1e6
                done = max(1, out["requests"])
                results[variant].runs.append(
                    Measure(
                        rps=out["requests"] / seconds,
                        p50=out["p50"] / 1000,
                        p95=out["p95"] / 1000,
                        p99=out["p99"] / 1000,
                        cpu_us=ticks / CLK_TCK * 1e6 / done,
                        bad=out["non200"] + out["gql_errors"] + out["socket_errors"],
                    )
                )
        for variant, server in servers.items():
            results[variant].rss_mb = server.rss_peak_mb()
    finally:
        for server in servers.values():
            server.stop()
    return results


# ------------------------------------------------------------------ report


def _fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def _ratio(a: VariantResult | None, b: VariantResult | None) -> str:
    if a is None or b is None:
        return "n/a"
    ra, rb = a.median("rps"), b.median("rps")
    return "n/a" if not ra or not rb else f"{ra / rb:.2f}"


def report(all_results: dict[str, dict[str, VariantResult]], args: argparse.Namespace) -> str:
    lines = [
        "| shape | variant | req/s | p50 ms | p95 ms | p99 ms | round trips | CPU µs/req "
        "| peak RSS MB | bad | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    extra = [v for v in B3_EXTRA if v in args.variants]
    ratios = [
        "| shape | E_total = B3/B1 | E_engine = B2/B1 | E_sb = B3/B2 | B0 req/s "
        "| CPU B1/B2 | CPU B1/B3 |"
        + "".join(f" {v.upper()}/B1 | CPU B1/{v.upper()} |" for v in extra),
        "|---|---|---|---|---|---|---|" + "---|---|" * len(extra),
    ]
    for key, res in all_results.items():
        for variant in args.variants:
            r = res[variant]
            bad = sum(m.bad for m in r.runs)
            lines.append(
                f"| {key} | {variant.upper()} | {_fmt(r.median('rps'))} | "
                f"{_fmt(r.median('p50'), '.1f')} | {_fmt(r.median('p95'), '.1f')} | "
                f"{_fmt(r.median('p99'), '.1f')} | {_fmt(r.round_trips, 'd')} | "
                f"{_fmt(r.median('cpu_us'))} | {_fmt(r.rss_mb, '.0f')} | {bad} | {r.status} |"
            )

        def ok(v: str, res: dict[str, VariantResult] = res) -> VariantResult | None:
            r = res.get(v)
            return r if r is not None and r.runs else None

        def cpu(a: VariantResult | None, b: VariantResult | None) -> str:
            ca, cb = (a.median("cpu_us") if a else None), (b.median("cpu_us") if b else None)
            return f"{ca / cb:.2f}" if ca and cb else "n/a"

        b0 = ok("b0")
        ratios.append(
            f"| {key} | {_ratio(ok('b3'), ok('b1'))} | {_ratio(ok('b2'), ok('b1'))} | "
            f"{_ratio(ok('b3'), ok('b2'))} | {_fmt(b0.median('rps') if b0 else None)} | "
            f"{cpu(ok('b1'), ok('b2'))} | {cpu(ok('b1'), ok('b3'))} |"
            + "".join(f" {_ratio(ok(v), ok('b1'))} | {cpu(ok('b1'), ok(v))} |" for v in extra)
        )
    return "\n".join(lines) + "\n\n" + "\n".join(ratios)


def environment(args: argparse.Namespace) -> str:
    from importlib.metadata import version

    import graphql

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return (
        f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs ({cpu}); "
        f"loadavg {Path('/proc/loadavg').read_text().split()[:3]}\n"
        f"- Python {platform.python_version()}, strawberry {version('strawberry-graphql')}, "
        f"graphql-core {graphql.__version__}, uvicorn {version('uvicorn')}, "
        f"uvloop {version('uvloop')}, httptools {version('httptools')}, "
        f"pymongo {version('pymongo')}, cassandra-driver {version('cassandra-driver')}\n"
        f"- dataset: --synthetic {args.synthetic} in {args.database}; {args.workers} uvicorn "
        f"worker(s) per server, servers pinned to CPU {args.server_cpus}, "
        f"wrk -t1 -c{args.connections} on CPU {LOAD_CPU}; databases not pinned; "
        f"{args.rounds} rounds x {args.duration}s (warm-up {args.warmup}s), order "
        f"B.. then reversed per round; medians"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run")
    add_dataset_args(p, synthetic=10_000)
    p.add_argument("--shapes", default="abcde")
    p.add_argument("--variants", default="b0,b1,b2,b3,b3x,b3s")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--output", help="also write the report (markdown) to this file")
    p.add_argument("--json", help="also write the medians per shape and variant (JSON) here")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers per server")
    p.add_argument(
        "--server-cpus", default=SERVER_CPU, help="taskset CPU list of the servers (e.g. 0,1)"
    )
    args = p.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        print("bench: wrk is missing (apt-get install -y wrk)", file=sys.stderr)
        return 2
    env = bench_env(args)
    ids = asyncio.run(prepare_data(args, env))
    all_results: dict[str, dict[str, VariantResult]] = {}
    with tempfile.TemporaryDirectory(prefix="sigma-bench-") as tmp:
        for key in args.shapes:
            shape = SHAPES[key]
            print(f"# shape ({key}) {shape.name}", flush=True)
            all_results[key] = run_shape(shape, args, env, ids, Path(tmp))
    text = environment(args) + "\n\n" + report(all_results, args)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(medians(all_results), indent=1), encoding="utf-8")
    return 0


def medians(all_results: dict[str, dict[str, VariantResult]]) -> dict[str, Any]:
    """{shape: {variant: {rps, p50, p95, p99, cpu_us, round_trips, rss_mb, bad, status}}}"""
    return {
        key: {
            variant: {
                **{a: r.median(a) for a in ("rps", "p50", "p95", "p99", "cpu_us")},
                "round_trips": r.round_trips,
                "rss_mb": r.rss_mb,
                "bad": sum(m.bad for m in r.runs),
                "status": r.status,
            }
            for variant, r in res.items()
        }
        for key, res in all_results.items()
    }


if __name__ == "__main__":
    raise SystemExit(main())
