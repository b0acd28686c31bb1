"""`python -m bench.cluster`: throughput of shapes (a)-(e) with 1 and with N API processes behind
HAProxy (sigma_graphql/commands/cluster.py, issue 17), and nothing else changed.

Each configuration is the deployed application (`sigma-graphql serve`: public answer cache,
inline leaves, NATS) with budgets too large to refuse wrk's single identity, like B3
(bench/b3.py). Both configurations go through HAProxy, so the comparison is the processes, not
the balancer. Nothing is pinned: the API processes, HAProxy, wrk and the databases share the
machine's cores, which is the point (does a second process buy anything on 2 cores?).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.run import (
    add_dataset_args,
    bench_env,
    free_port,
    post,
    prepare_data,
    shape_bodies,
    wrk,
)
from bench.shapes import SHAPES
from sigma_graphql.commands.cluster import Cluster

_AUDIENCES = ("PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN")


def cluster_env(env: dict[str, str]) -> dict[str, str]:
    out = dict(env)
    out["SIGMA_BUDGET_BURST"] = ",".join(f"{a}={10**15}" for a in _AUDIENCES)
    out["SIGMA_BUDGET_REFILL_PER_S"] = ",".join(f"{a}={10**12}" for a in _AUDIENCES)
    out["SIGMA_RECONCILE_INTERVAL_S"] = "0"
    return out


def measure(
    cluster: Cluster, key: str, args: argparse.Namespace, env: dict[str, str], ids: Any, tmp: Path
) -> dict[str, float]:
    bodies = shape_bodies(SHAPES[key], env, ids, tmp)
    url = f"{cluster.url}/graphql"
    for _ in range(2):  # steady state: leases taken, answers cached
        answer = post(url, bodies.probe, bodies.token)
        if answer.get("errors"):
            raise RuntimeError(f"shape {key}: {answer['errors'][0]}")
    rates, p50s, p99s, bad = [], [], [], 0
    for _ in range(args.rounds):
        wrk(url, args.warmup, args.connections, bodies.wrk_env)
        out = wrk(url, args.duration, args.connections, bodies.wrk_env)
        rates.append(out["requests"] / (out["duration_us"] / 1e6))
        p50s.append(out["p50"] / 1000)
        p99s.append(out["p99"] / 1000)
        bad += out["non200"] + out["gql_errors"] + out["socket_errors"]
    return {
        "rps": statistics.median(rates),
        "p50": statistics.median(p50s),
        "p99": statistics.median(p99s),
        "bad": bad,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cluster")
    add_dataset_args(p, synthetic=2_000)
    p.add_argument("--shapes", default="abcde")
    p.add_argument("--processes", default="1,2", help="process counts to compare")
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--connections", type=int, default=16)
    args = p.parse_args(argv)
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        print("bench: wrk is missing (apt-get install -y wrk)", file=sys.stderr)
        return 2
    env = bench_env(args)
    ids = asyncio.run(prepare_data(args, env))
    counts = [int(n) for n in args.processes.split(",")]
    results: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sigma-bench-cluster-") as tmp:
        for n in counts:
            cluster = Cluster(n, free_port(), env=cluster_env(env)).start()
            try:
                for key in args.shapes:
                    print(f"# {n} process(es), shape ({key})", flush=True)
                    results[key, n] = measure(cluster, key, args, env, ids, Path(tmp))
            finally:
                cluster.stop()
    head = "| shape | " + " | ".join(f"{n} proc req/s | p50 ms | p99 ms" for n in counts)
    lines = [head + " | ratio |", "|---|" + "---|---|---|" * len(counts) + "---|"]
    for key in args.shapes:
        cells = []
        for n in counts:
            r = results[key, n]
            bad = f" ({int(r['bad'])} bad)" if r["bad"] else ""
            cells.append(f"{r['rps']:.0f}{bad} | {r['p50']:.1f} | {r['p99']:.1f}")
        ratio = results[key, counts[-1]]["rps"] / results[key, counts[0]]["rps"]
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
