"""`python -m bench.workers`: throughput of each shape with 1 and with 2 uvicorn workers (issue 16,
goal 3).

Runs `bench.run` twice on the same data, servers allowed on both CPUs (`--server-cpus 0,1`) in
both runs so that only the number of workers changes (wrk stays on CPU 0, the databases float),
and prints req/s, p50 and server CPU per request (summed over the workers) side by side with the
scaling factor rps(2 workers) / rps(1 worker).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.run import ROOT

RESULTS = ROOT / "bench" / "results"


def run(workers: int, args: argparse.Namespace) -> dict[str, Any]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"workers-{workers}.json"
    cmd = [
        sys.executable, "-m", "bench.run", "--database", args.database,
        "--synthetic", str(args.synthetic), "--skip-seed", "--shapes", args.shapes,
        "--variants", args.variants, "--duration", str(args.duration),
        "--warmup", str(args.warmup), "--rounds", str(args.rounds),
        "--workers", str(workers), "--server-cpus", "0,1", "--json", str(out),
        "--output", str(RESULTS / f"workers-{workers}.md"),
    ]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, check=True)
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def table(one: dict[str, Any], two: dict[str, Any], variants: list[str]) -> str:
    lines = [
        "| shape | variant | req/s, 1 worker | req/s, 2 workers | 2/1 | p50 ms 1 / 2 "
        "| CPU µs/req 1 / 2 | bad 1 / 2 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for shape in one:
        for v in variants:
            a, b = one[shape].get(v) or {}, two.get(shape, {}).get(v) or {}
            if not a.get("rps") or not b.get("rps"):
                lines.append(f"| {shape} | {v.upper()} | - | - | - | - | - | - |")
                continue
            lines.append(
                f"| {shape} | {v.upper()} | {a['rps']:.0f} | {b['rps']:.0f} | "
                f"{b['rps'] / a['rps']:.2f} | {a['p50']:.1f} / {b['p50']:.1f} | "
                f"{a['cpu_us']:.0f} / {b['cpu_us']:.0f} | {a['bad']} / {b['bad']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    p.add_argument("--database", default="sigma_bench2k")
    p.add_argument("--synthetic", type=int, default=2000)
    p.add_argument("--shapes", default="abcde")
    p.add_argument("--variants", default="b1,b3")
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--output", help="also write the table (markdown) here")
    args = p.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    text = table(run(1, args), run(2, args), variants)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
