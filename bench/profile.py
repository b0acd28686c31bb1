"""`python -m bench.profile --shape c`: where B3 spends CPU on one shape (cProfile, in process).

The real app (bench/b3.py's configuration, chosen with --variant) behind httpx's ASGI transport,
on the bench data set prepared by bench.run (--database, --synthetic as there). Prints the
functions with the most own time and, separately, the project's own functions by cumulative
time. Not a load test: no HTTP server, one request at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
from typing import Any

import httpx

from bench.run import add_dataset_args, bench_env, prepare_data
from bench.shapes import SHAPES


async def _profile(args: argparse.Namespace) -> str:
    env = bench_env(args)
    ids = await prepare_data(args, env)
    os.environ.update(env)
    os.environ["BENCH_VARIANT"] = args.variant
    from bench import b3  # builds the app from the environment set above

    shape = SHAPES[args.shape]
    variables: dict[str, Any] = dict(shape.variables)
    if "tahun" in variables:
        variables["tahun"] = ids["year"]
    body = {"query": shape.query, "variables": variables}
    token = ids["tokens"][shape.audience]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=b3.app)
    async with (
        b3.app.router.lifespan_context(b3.app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):

        async def one() -> None:
            resp = await client.post("/graphql", json=body, headers=headers)
            payload = resp.json()
            if payload.get("errors"):
                raise RuntimeError(json.dumps(payload["errors"])[:500])

        for _ in range(args.warmup):
            await one()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            await one()
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"# shape ({shape.key}) {shape.name}, {args.requests} requests, {args.variant}\n")
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.filter, args.top)
    if args.callers:
        stats.print_callers(args.callers)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--shape", default="c", choices=sorted(SHAPES))
    p.add_argument("--variant", default="b3", choices=("b3", "b3x", "b3s"))
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--top", type=int, default=30)
    p.add_argument(
        "--filter",
        default=r"/(resolvers|loaders|schema|db|sigma_graphql)/",
        help="regular expression on file paths for the cumulative listing ('.' for all)",
    )
    p.add_argument("--callers", help="also list the callers of functions matching this")
    add_dataset_args(p, synthetic=10_000)
    args = p.parse_args(argv)
    print(asyncio.run(_profile(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
