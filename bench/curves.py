"""`python -m bench.curves`: cost curves (issue 16, goal 2): B1 and B3 per shape against data size.

For each size N it runs `bench.run` on its own database (`sigma_curve<N>`, seeded with
`--synthetic N` when it holds fewer), then measures the MongoDB list query of shapes (a) and (d)
alone (`umkm_profiles.find_page` with the viewer's row rule, as B1 and the resolver send it), so
the part of a shape's growth that is the database's scan can be told apart from ours. Writes a
markdown table (`--table`) and a PNG (`--plot`): latency (p50) and server CPU per request against
the number of UMKMs, one line per shape and variant. Raw medians go to `bench/results/`
(git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.run import ROOT, bench_env

RESULTS = ROOT / "bench" / "results"


async def _mongo_query_ms(env: dict[str, str], samples: int = 15) -> dict[str, float | str]:
    """Median wall time of each shape's MongoDB list query on its own, as B1 and the resolvers
    send it: (a) the public catalogue page and (d) the staff page (`find_page`, first 101 rows,
    the viewer's row rule, list order), (c) the owner's UMKMs (`first_by_owners`, one owner);
    (e)'s guarded summary update; as controls, one profile by `_id` (the only kind of index
    the stand-in uses) and (a)'s query matching no profile."""
    from bench.run import SYNTHETIC_OWNER
    from db import umkm_profiles
    from db.drivers.handles import Databases
    from db.maintenance.seed import stable_id
    from sigma_graphql.core.settings import load_settings
    from sigma_graphql.core.viewer import PUBLIC, Audience, Viewer
    from sigma_graphql.permissions import umkm_row_filter

    owner = stable_id("user", SYNTHETIC_OWNER.format(0))
    some_umkm = stable_id("umkm-synthetic", "0")
    dbs = Databases.open(load_settings(env))
    mongo = dbs.mongo
    staff = Viewer(audience=Audience.PEJABAT)
    queries: dict[str, Callable[[], Awaitable[object]]] = {
        "a": lambda: umkm_profiles.find_page(
            mongo, umkm_row_filter(PUBLIC), 101, umkm_profiles.list_projection(private=False)
        ),
        "d": lambda: umkm_profiles.find_page(
            mongo, umkm_row_filter(staff), 101, umkm_profiles.list_projection(private=True)
        ),
        "c": lambda: umkm_profiles.first_by_owners(
            mongo, [owner], 6, None, umkm_profiles.FULL_PROJECTION
        ),
        "id": lambda: umkm_profiles.find_by_id(mongo, some_umkm),
        # (a)'s query with a status no profile has: an empty answer, so what it costs is the
        # search alone (an index answers it at once; a scan reads every profile)
        "none": lambda: umkm_profiles.find_page(
            mongo,
            {**umkm_row_filter(PUBLIC), "legalitas.status_verifikasi": "NO_SUCH_STATUS"},
            101,
            umkm_profiles.list_projection(private=False),
        ),
        # (e)'s summary write (db/writes/aggregates.py refresh_summary): `_id` plus the ticket
        # guard. The stand-in uses its `_id` index only for a filter of `_id` alone
        # (AbstractUniqueIndex.canHandle compares the key sets), so this scans. Here an `_id`
        # no profile has: it writes nothing.
        "e": lambda: mongo[umkm_profiles.COLLECTION].update_one(
            {
                "_id": uuid.uuid4(),
                "$or": [{"summary_written": None}, {"summary_written": {"$lt": 1}}],
            },
            {"$set": {"summary_written": 1}},
        ),
    }
    try:
        out: dict[str, float | str] = {}
        for name, query in queries.items():
            try:
                await query()  # warm: connection, the stand-in's code paths
                times = []
                for _ in range(samples):
                    start = time.perf_counter()
                    await query()
                    times.append((time.perf_counter() - start) * 1000)
            except Exception as exc:  # a timeout is a result here: say it in the table
                out[name] = f"failed ({type(exc).__name__})"
                continue
            out[name] = statistics.median(times)
        return out
    finally:
        await dbs.close()


def _cpu_medians(path: Path) -> dict[str, Any]:
    """bench.cpu's runs as bench.run's medians: p50 = wall time of a lone request."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = json.loads(path.read_text())
    out: dict[str, Any] = {}
    for shape, variants in runs.items():
        out[shape] = {}
        for variant, rs in variants.items():
            ok = [r for r in rs if "cpu_us" in r]
            out[shape][variant] = {
                "p50": statistics.median(r["wall_ms"] for r in ok) if ok else None,
                "cpu_us": statistics.median(r["cpu_us"] for r in ok) if ok else None,
                "bad": sum(r.get("bad", 0) for r in ok),
            }
    return out


def measure(size: int, args: argparse.Namespace) -> dict[str, Any]:
    database = args.database_for.get(size, f"sigma_curve{size}")
    out = RESULTS / f"curve-{size}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.method == "cpu":
        cmd = [
            sys.executable, "-m", "bench.cpu", "--database", database, "--synthetic", str(size),
            "--shapes", args.shapes, "--variants", args.variants, "--rounds", str(args.rounds),
            "--requests", str(args.requests), "--json", str(out),
        ]  # fmt: skip
        start = time.monotonic()
        subprocess.run(cmd, cwd=ROOT, check=True)
        took = time.monotonic() - start
        shapes = _cpu_medians(out)
        return _finish(size, database, took, shapes)
    cmd = [
        sys.executable, "-m", "bench.run", "--database", database, "--synthetic", str(size),
        "--shapes", args.shapes, "--variants", args.variants, "--duration", str(args.duration),
        "--warmup", str(args.warmup), "--rounds", str(args.rounds), "--json", str(out),
        "--output", str(RESULTS / f"curve-{size}.md"),
    ]  # fmt: skip
    start = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, check=True)
    took = time.monotonic() - start
    return _finish(size, database, took, json.loads(out.read_text()))


def _finish(size: int, database: str, took: float, shapes: dict[str, Any]) -> dict[str, Any]:
    env = bench_env(argparse.Namespace(database=database))
    mongo = asyncio.run(_mongo_query_ms(env))
    result = {"size": size, "run_s": took, "mongo_list_ms": mongo, "shapes": shapes}
    (RESULTS / f"curve-{size}-all.json").write_text(json.dumps(result, indent=1))
    return result


def table(results: list[dict[str, Any]], variants: list[str]) -> str:
    lines = [
        "| shape | variant | "
        + " | ".join(f"{r['size']:,} p50 ms / CPU ms" for r in results)
        + " |",
        "|---|---|" + "---|" * len(results),
    ]
    shapes = sorted({s for r in results for s in r["shapes"]})
    for shape in shapes:
        for variant in variants:
            cells = []
            for r in results:
                m = r["shapes"].get(shape, {}).get(variant)
                if not m:
                    cells.append("-")
                elif not m.get("p50") or m.get("status", "ok") != "ok":
                    status = m.get("status", "ok")
                    why = status if status != "ok" else "no request completed"
                    cells.append(f"failed ({why})")
                else:
                    bad = f" ({m['bad']} bad)" if m.get("bad") else ""
                    cells.append(f"{m['p50']:.1f} / {m['cpu_us'] / 1000:.1f}{bad}")
            lines.append(f"| {shape} | {variant.upper()} | " + " | ".join(cells) + " |")
    alone = (
        ("a", "(a) list query alone"),
        ("c", "(c) owner's UMKMs alone"),
        ("d", "(d) list query alone"),
        ("id", "one profile by _id (control)"),
        ("none", "(a)'s query matching nothing"),
        ("e", "(e)'s guarded summary update alone"),
    )
    for key, label in alone:
        cells = []
        for r in results:
            ms = r["mongo_list_ms"].get(key, "-")
            cells.append(ms if isinstance(ms, str) else f"{ms:.1f} ms")
        lines.append(f"| {label} | MongoDB | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(
    results: list[dict[str, Any]],
    variants: list[str],
    path: Path,
    latency: str = "latency p50 (ms, closed loop, 16 connections)",
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["size"] for r in results]
    shapes = sorted({s for r in results for s in r["shapes"]})
    fig, (lat, cpu) = plt.subplots(1, 2, figsize=(12, 5))
    colours = [f"C{n}" for n in range(10)]  # matplotlib's default cycle, one per shape
    styles = {"b1": ("-", "o"), "b3": ("--", "s"), "b3x": ("-.", "^")}  # one colour per shape
    for i, shape in enumerate(shapes):
        for variant in variants:
            p50, cpu_ms, xs = [], [], []
            for r in results:
                m = r["shapes"].get(shape, {}).get(variant)
                # runs with failed answers are in the table, not on the curves
                if m and m.get("p50") and m.get("status", "ok") == "ok" and not m.get("bad"):
                    xs.append(r["size"])
                    p50.append(m["p50"])
                    cpu_ms.append(m["cpu_us"] / 1000)
            style, marker = styles.get(variant, (":", "o"))
            look = {"color": colours[i % len(colours)], "marker": marker}
            label = f"({shape}) {variant.upper()}"
            lat.plot(xs, p50, style, label=label, **look)
            cpu.plot(xs, cpu_ms, style, label=label, **look)
    for key, marker in (("a", "x"), ("c", "+"), ("d", "^")):
        ms = [r["mongo_list_ms"].get(key) for r in results]
        ms = [m if isinstance(m, float | int) else None for m in ms]
        lat.plot([x for x, m in zip(sizes, ms, strict=True) if m is not None],
                 [m for m in ms if m is not None], ":", color="black", marker=marker,
                 label=f"({key}) its MongoDB query alone")  # fmt: skip
    for ax, title in ((lat, latency),
                      (cpu, "server CPU per request (ms)")):  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("UMKMs in the data set")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    cpu.legend(fontsize=7, ncol=2)
    lat.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.curves", description=__doc__)
    p.add_argument("--sizes", default="1000,10000,50000")
    p.add_argument("--shapes", default="abcde")
    p.add_argument("--variants", default="b1,b3")
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--reuse", action="store_true", help="table and plot from earlier results")
    p.add_argument(
        "--mongo-only",
        action="store_true",
        help="with --reuse: time the MongoDB queries alone again on the seeded data sets",
    )
    p.add_argument(
        "--method",
        default="wrk",
        choices=("wrk", "cpu"),
        help="wrk: bench.run under load (p50 of 16 connections); cpu: bench.cpu, sequential "
        "requests (p50 = a lone request's wall time), for a machine too busy for wrk",
    )
    p.add_argument("--requests", type=int, default=30, help="--method cpu: requests per run")
    p.add_argument(
        "--database-for",
        default="",
        help="use existing data sets, e.g. 2000=sigma_bench2k (default sigma_curve<N>)",
    )
    p.add_argument("--note", default="", help="a line written above the table (what was run)")
    p.add_argument("--table", default=str(ROOT / "bench" / "curves.md"))
    p.add_argument("--plot", default=str(ROOT / "bench" / "curves.png"))
    args = p.parse_args(argv)
    args.database_for = {
        int(k): v for k, v in (e.split("=", 1) for e in args.database_for.split(",") if e)
    }
    sizes = [int(s) for s in args.sizes.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    results = []
    for size in sizes:
        saved = RESULTS / f"curve-{size}-all.json"
        if args.reuse and saved.exists():
            result = json.loads(saved.read_text())
            if args.mongo_only:
                database = args.database_for.get(size, f"sigma_curve{size}")
                env = bench_env(argparse.Namespace(database=database))
                result["mongo_list_ms"] = asyncio.run(_mongo_query_ms(env))
                saved.write_text(json.dumps(result, indent=1))
            results.append(result)
            continue
        print(f"# size {size}", flush=True)
        results.append(measure(size, args))
    text = table(results, variants)
    note = f"{args.note}\n\n" if args.note else ""
    Path(args.table).write_text(note + text + "\n", encoding="utf-8")
    if args.method == "cpu":
        plot(results, variants, Path(args.plot), "latency of a lone request (ms, median)")
    else:
        plot(results, variants, Path(args.plot))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
