"""`python -m bench.calls --shape a`: Python calls per request, B1 against B3X and LEAN.

CPU time per request moves by up to 40 % between runs of the same code on the shared
machine (bench/README.md); the number of Python function calls a request makes barely moves
(within 0.1 % on a quiet machine; the event loop's own calls grow when the databases answer
slowly, so compare counts taken together), and for this pure-Python stack it follows CPU time
closely. A change that removes work
shows here at once, however small, where CPU figures would need many quiet rounds.

The three apps of bench/phases.py (B1, B3X, LEAN) run in this process, one request at a time,
under cProfile; calls are those of the main thread (the drivers' own threads are left out:
they do the same work for every app). Printed: calls per request in all and by package (the
standard library's modules by file name, this repository's by top-level folder), then
`--diff A,B`: the functions B calls more often than A, per request, most first;
`--callers NAME`: who calls B3X's functions whose label holds NAME (say `isinstance`);
`--stages`: calls by stage of the request (bench/call_stages.py).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import os
import pstats
from typing import Any

from bench.call_stages import StageCounter
from bench.phases import _call, add_in_process_args, in_process
from bench.shapes import SHAPES

Function = tuple[str, int, str]  # cProfile's key: file, line, name
PACKAGES = (
    "strawberry",
    "graphql",
    "prometheus_client",
    "opentelemetry",
    "pymongo",
    "bson",
    "cassandra",
    "starlette",
    "logging",
    "asyncio",
    "aiodataloader",
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def package(function: Function) -> str:
    path = function[0]
    for name in PACKAGES:
        if f"{os.sep}{name}{os.sep}" in path:
            return name
    if path.startswith(ROOT):
        return "ours: " + path[len(ROOT) :].split(os.sep)[0]
    if path == "~":
        return "built-ins (C)"
    return os.path.basename(path)


def _label(function: Function) -> str:
    path, line, name = function
    for marker in ("site-packages" + os.sep, ROOT, "python3.11" + os.sep):
        path = path.split(marker)[-1]
    return f"{path}:{line}({name})"


async def _count(args: argparse.Namespace) -> str:
    setup = await in_process(args)
    counts: dict[str, dict[Function, float]] = {}
    callers: dict[Function, dict[Function, float]] = {}  # B3X's, for --callers
    lines = [
        f"# ({args.shape}) {SHAPES[args.shape].name}, variables {setup.variables}: "
        f"Python calls per request, main thread, {args.requests} requests",
        "",
    ]
    for name, app in setup.apps.items():
        for i in range(args.warmup):
            answer = await _call(app, *setup.request(i))
        assert b'"errors"' not in answer, answer[:500]
        profile = cProfile.Profile()
        profile.enable()
        for i in range(args.warmup, args.warmup + args.requests):
            await _call(app, *setup.request(i))
        profile.disable()
        stats: dict[Function, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        counts[name] = {f: v[1] / args.requests for f, v in stats.items()}
        if name == "B3X":
            callers = {
                f: {c: v[1] / args.requests for c, v in s[4].items()} for f, s in stats.items()
            }
    stages = await _stages(setup, args) if args.stages else {}
    setup.stop()
    names = list(counts)
    by_package: dict[str, collections.defaultdict[str, float]] = {
        n: collections.defaultdict(float) for n in names
    }
    for n in names:
        for f, calls in counts[n].items():
            by_package[n][package(f)] += calls
    lines.append("| package | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    lines.append(
        "| **all** | " + " | ".join(f"**{sum(counts[n].values()):.0f}**" for n in names) + " |"
    )
    ranked = sorted({p for n in names for p in by_package[n]}, key=lambda p: -by_package["B3X"][p])
    for p in ranked[: args.packages]:
        lines.append(f"| {p} | " + " | ".join(f"{by_package[n][p]:.0f}" for n in names) + " |")
    if args.diff:
        a, b = args.diff.split(",")
        keys = set(counts[a]) | set(counts[b])
        more = sorted(keys, key=lambda k: counts[a].get(k, 0.0) - counts[b].get(k, 0.0))
        lines += ["", f"{b} minus {a}, calls per request:", ""]
        for k in more[: args.top]:
            extra = counts[b].get(k, 0.0) - counts[a].get(k, 0.0)
            if extra > 0:
                lines.append(f"    {extra:9.1f}  {_label(k)}")
    if stages:
        labels = sorted(
            {s for n in stages for s in stages[n]}, key=lambda s: -stages["B3X"].get(s, 0.0)
        )
        lines += ["", "Calls per request by stage (bench/call_stages.py):", ""]
        lines.append("| stage | " + " | ".join(stages) + " |")
        lines.append("|---|" + "---:|" * len(stages))
        for s in labels:
            lines.append(
                f"| {s} | " + " | ".join(f"{stages[n].get(s, 0.0):.0f}" for n in stages) + " |"
            )
    if args.callers:
        lines += ["", f"B3X: who calls {args.callers!r}, calls per request:", ""]
        for f in sorted(callers, key=_label):
            if args.callers in _label(f):
                lines.append(f"  {_label(f)}")
                for c, per in sorted(callers[f].items(), key=lambda cn: -cn[1])[: args.top]:
                    lines.append(f"    {per:9.1f}  {_label(c)}")
    return "\n".join(lines)


async def _stages(setup: Any, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for name, app in setup.apps.items():
        counter = StageCounter(args.stages_detail)
        counter.start()
        for i in range(args.warmup, args.warmup + args.requests):
            await _call(app, *setup.request(i))
        counter.stop()
        found[name] = {s: n / args.requests for s, n in counter.calls.items()}
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    add_in_process_args(p, SHAPES, requests=50)
    p.add_argument("--packages", type=int, default=12, help="rows of the package table")
    p.add_argument("--diff", default="", help="two of B1,B3X,LEAN, e.g. B1,B3X")
    p.add_argument("--top", type=int, default=30, help="rows of the --diff list")
    p.add_argument("--callers", default="", help="B3X: who calls the functions named so")
    p.add_argument("--stages", action="store_true", help="calls by pipeline stage")
    p.add_argument(
        "--stages-detail", default="", help="stages to split by function (comma-separated)"
    )
    args = p.parse_args(argv)
    print(asyncio.run(_count(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
