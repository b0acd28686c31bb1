"""`python -m bench.cpu`: server CPU per request of each shape and variant, one request at a
time (issue 16: the CPU figure when the machine is too busy for load runs).

Each variant runs as in `bench.run` (one uvicorn process pinned to CPU 1, the same apps, the
same data set), but instead of wrk this sends `--warmup` then `--requests` requests one after
another and reads the CPU time of the server's threads around the measured ones
(/proc/<pid>/task/*/schedstat: Python and both drivers' threads; not the databases), minus
the server's idle CPU rate (measured for `--idle-s` before) times the wall time, since B3's
background tasks keep running while a request waits for a slow database. Rounds interleave the
variants (B1 B2 B3.. then reversed); medians. Other processes on the machine move this figure
much less than req/s under wrk. Without concurrency a request never shares a DataLoader batch
or an event-loop tick with another: per-request overheads show in full.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import Server, add_dataset_args, bench_env, prepare_data
from bench.shapes import SHAPES


def _bodies(shape_key: str, ids: dict[str, Any], n: int) -> list[tuple[bytes, str]]:
    """(body, token) per request; writes vary owner, UMKM, month and amount as the wrk script."""
    shape = SHAPES[shape_key]
    variables = shape.variables
    token = ids["tokens"][shape.audience]
    if shape_key != "e":
        if "tahun" in variables:
            variables["tahun"] = ids["year"]
        body = json.dumps({"query": shape.query, "variables": variables}).encode()
        return [(body, token)] * n
    pool = [e.split(",") for e in ids["write_pool"].split(";")]
    months = [tuple(int(x) for x in m.split(":")) for m in ids["months"].split(",")]
    rng = random.Random(16)
    out = []
    for i in range(n):
        tok, umkm = pool[i % len(pool)]
        tahun, bulan = rng.choice(months)
        v = dict(variables)
        v["input"] = dict(
            v["input"], umkmId=umkm, tahun=tahun, bulan=bulan, omzet=rng.randint(10**6, 9 * 10**7)
        )
        out.append((json.dumps({"query": shape.query, "variables": v}).encode(), tok))
    return out


def _start(shape: str, variant: str, env: dict[str, str], args: argparse.Namespace) -> Server:
    """One variant's server for `shape` (pinned as in bench.run), the reconciler's scan off."""
    body_file = Path(args.tmp) / f"{shape}-{variant}-golden.json"
    body_file.write_bytes(b"{}")
    senv = dict(env, SIGMA_RECONCILE_INTERVAL_S="0")
    return Server(variant, SHAPES[shape], senv, body_file)


def _answered(client: Any, url: str, body: bytes, token: str) -> bool:
    """Posts one request; False for anything but a clean 200 (a status or a GraphQL error)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resp = client.post(url, content=body, headers=headers)
    return bool(resp.status_code == 200 and b'"errors"' not in resp.content)


def run_server(
    shape: str, variant: str, ids: dict[str, Any], env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """One server process (pinned as in bench.run); requests sent one after another from here;
    the server's CPU ticks around the measured requests."""
    import httpx

    bodies = _bodies(shape, ids, args.warmup + args.requests)
    bad = 0
    server = _start(shape, variant, env, args)
    try:
        with httpx.Client(timeout=60) as client:

            def one(body: bytes, token: str) -> None:
                nonlocal bad
                bad += not _answered(client, server.url, body, token)

            for body, token in bodies[: args.warmup]:
                one(body, token)
            # The server's background work (B3: event bus, budget leases, sweeps) goes on
            # while a request waits for a slow database: measured idle, subtracted pro rata.
            idle0, main_idle0 = _cpu_ns(server), _main_thread_ns(server)
            time.sleep(args.idle_s)
            idle_rate = (_cpu_ns(server) - idle0) / args.idle_s
            main_idle_rate = (_main_thread_ns(server) - main_idle0) / args.idle_s
            bad = 0
            cpu0, main0, wall0 = _cpu_ns(server), _main_thread_ns(server), time.perf_counter()
            for body, token in bodies[args.warmup :]:
                one(body, token)
            cpu, wall = _cpu_ns(server) - cpu0, time.perf_counter() - wall0
            main = _main_thread_ns(server) - main0
    finally:
        server.stop()
    main_us = (main - main_idle_rate * wall) / args.requests / 1e3
    cpu_us = (cpu - idle_rate * wall) / args.requests / 1e3
    return {
        "cpu_us": cpu_us,
        # The event loop's thread (our code, the frameworks, BSON decoding) and the rest (the
        # Cassandra driver's reactor and its pool, executor threads), each net of its idle rate.
        "main_us": main_us,
        "other_us": cpu_us - main_us,
        "cpu_raw_us": cpu / args.requests / 1e3,
        "idle_ms_per_s": idle_rate / 1e6,
        "wall_ms": wall / args.requests * 1e3,
        "bad": bad,
    }


def run_paired(
    shape: str,
    variants: list[str],
    ids: dict[str, Any],
    env: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """`--paired`: every variant's server up at once (all pinned to the same CPU), requests
    sent to them in turn (B1, B3X, B3X, B1, ...), each server's CPU read once before and once
    after the whole run. Whatever else the machine does (another tenant, the databases' JVMs,
    frequency changes) then falls on all variants alike, so their ratio holds still where
    separate runs move it by a third. Each server's idle rate is subtracted for the whole
    run's wall time (it idles while the others answer)."""
    import httpx

    servers: dict[str, Server] = {}
    bodies = _bodies(shape, ids, args.warmup + args.requests)
    bad = dict.fromkeys(variants, 0)
    try:
        for v in variants:
            servers[v] = _start(shape, v, env, args)
        with httpx.Client(timeout=60) as client:

            def one(v: str, body: bytes, token: str) -> None:
                bad[v] += not _answered(client, servers[v].url, body, token)

            for body, token in bodies[: args.warmup]:
                for v in variants:
                    one(v, body, token)
            before = {v: (_cpu_ns(s), _main_thread_ns(s)) for v, s in servers.items()}
            time.sleep(args.idle_s)
            idle = {
                v: ((_cpu_ns(s) - before[v][0]) / args.idle_s,
                    (_main_thread_ns(s) - before[v][1]) / args.idle_s)
                for v, s in servers.items()
            }  # fmt: skip
            bad = dict.fromkeys(variants, 0)
            start = {v: (_cpu_ns(s), _main_thread_ns(s)) for v, s in servers.items()}
            wall0 = time.perf_counter()
            for i, (body, token) in enumerate(bodies[args.warmup :]):
                for v in variants if i % 2 == 0 else reversed(variants):
                    one(v, body, token)
            wall = time.perf_counter() - wall0
            end = {v: (_cpu_ns(s), _main_thread_ns(s)) for v, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    out = {}
    for v in variants:
        cpu, main = end[v][0] - start[v][0], end[v][1] - start[v][1]
        cpu_us = (cpu - idle[v][0] * wall) / args.requests / 1e3
        main_us = (main - idle[v][1] * wall) / args.requests / 1e3
        out[v] = {
            "cpu_us": cpu_us,
            "main_us": main_us,
            "other_us": cpu_us - main_us,
            "cpu_raw_us": cpu / args.requests / 1e3,
            "idle_ms_per_s": idle[v][0] / 1e6,
            "wall_ms": wall / args.requests / len(variants) * 1e3,
            "bad": bad[v],
        }
    return out


def _cpu_ns(server: Server) -> int:
    """CPU time of the server's threads in nanoseconds (/proc/<pid>/task/*/schedstat): the
    clock-tick resolution of /proc/<pid>/stat is too coarse for a few seconds idle."""
    total = 0
    for pid in server.pids():
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total


def _main_thread_ns(server: Server) -> int:
    """CPU time of the first server process's main thread (the event loop's)."""
    pid = server.pids()[0]
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def report(results: dict[str, dict[str, list[dict[str, Any]]]], variants: list[str]) -> str:
    def med(shape: str, v: str, key: str) -> float | None:
        runs = [r[key] for r in results[shape].get(v, []) if key in r]
        return statistics.median(runs) if runs else None

    lines = [
        "| shape | " + " | ".join(f"{v.upper()} CPU µs/req" for v in variants) + " | "
        + " | ".join(f"CPU B1/{v.upper()}" for v in variants if v != "b1") + " | bad |",
        "|---|" + "---|" * (2 * len(variants)) + "",
    ]  # fmt: skip
    for shape in results:
        cpus = {v: med(shape, v, "cpu_us") for v in variants}
        b1 = cpus.get("b1")
        bad = sum(r.get("bad", 0) for v in variants for r in results[shape].get(v, []))
        cells = [f"{c:.0f}" if c else "-" for c in cpus.values()]
        ratios = [f"{b1 / c:.2f}" if b1 and c else "n/a" for v, c in cpus.items() if v != "b1"]
        lines.append(f"| {shape} | " + " | ".join(cells + ratios) + f" | {bad} |")
    lines += [
        "",
        "The same split by thread: the event loop's (main) and the others (drivers' threads,"
        " executors), µs per request, medians:",
        "",
        "| shape | " + " | ".join(f"{v.upper()} main / others" for v in variants)
        + " | " + " | ".join(f"main B1/{v.upper()}" for v in variants if v != "b1") + " |",
        "|---|" + "---|" * (2 * len(variants) - 1),
    ]  # fmt: skip
    for shape in results:
        mains = {v: med(shape, v, "main_us") for v in variants}
        others = {v: med(shape, v, "other_us") for v in variants}
        cells = [
            f"{mains[v]:.0f} / {others[v]:.0f}" if mains[v] is not None and others[v] is not None
            else "-"
            for v in variants
        ]  # fmt: skip
        b1 = mains.get("b1")
        ratios = [f"{b1 / m:.2f}" if b1 and m else "n/a" for v, m in mains.items() if v != "b1"]
        lines.append(f"| {shape} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__)
    add_dataset_args(p, synthetic=2000)
    p.add_argument("--shapes", default="abcde")
    p.add_argument("--variants", default="b1,b2,b3x,b3s")
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--warmup", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--idle-s", type=float, default=3.0, help="idle CPU measured this long")
    p.add_argument(
        "--paired",
        action="store_true",
        help="all variants' servers up together, requests alternating between them",
    )
    p.add_argument("--output", help="also write the table (markdown) here")
    p.add_argument("--json", help="also write every run (JSON) here")
    args = p.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    env = bench_env(args)
    ids = asyncio.run(prepare_data(args, env))
    results: dict[str, dict[str, list[dict[str, Any]]]] = {s: {} for s in args.shapes}
    with tempfile.TemporaryDirectory(prefix="sigma-cpu-") as tmp:
        args.tmp = tmp
        for rnd in range(args.rounds):
            order = variants if rnd % 2 == 0 else list(reversed(variants))
            for shape in args.shapes:
                if args.paired:
                    found = run_paired(shape, order, ids, env, args)
                else:
                    found = {v: run_server(shape, v, ids, env, args) for v in order}
                for v, r in found.items():
                    results[shape].setdefault(v, []).append(r)
                    print(f"# round {rnd + 1} ({shape}) {v}: {r}", flush=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    how = "servers side by side, requests alternating" if args.paired else "one server at a time"
    head = (
        f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; loadavg {load}; "
        f"{args.database}; {args.rounds} rounds x {args.requests} sequential requests "
        f"(warm-up {args.warmup}) per variant, "
        f"{how}; medians"
    )
    text = head + "\n\n" + report(results, variants)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
