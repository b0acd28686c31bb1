"""`python -m bench.tracing`: CPU per request of shapes (a)-(e) with tracing off and on.

The real app (bench/b3.py, variant b3x: no public answer cache, so every request executes)
behind httpx's ASGI transport, on the bench data set prepared by bench.run (--database,
--synthetic as there), like bench/profile.py. "on" sends every span (operation, database calls,
DataLoader batches: sigma_graphql/observability/tracing.py) through a BatchSpanProcessor, as
production does, to an in-memory exporter. CPU is the process's (time.process_time: every thread,
the driver's I/O threads and the span processor's included) divided by the requests. Rounds
alternate off and on so that drift of a shared machine hits both alike; the table gives the median
round. Figures: bench/README.md, "Tracing overhead".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import time
from typing import Any

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bench.run import add_dataset_args, bench_env, prepare_data
from bench.shapes import SHAPES, Shape


def _body(shape: Shape, ids: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = dict(shape.variables)
    if shape.key == "e":
        tahun, bulan = ids["probe_month"]
        variables["input"] = dict(
            variables["input"], umkmId=ids["probe_umkm"], tahun=tahun, bulan=bulan
        )
    elif "tahun" in variables:
        variables["tahun"] = ids["year"]
    return {"query": shape.query, "variables": variables, "operationName": shape.operation_name}


async def _measure(args: argparse.Namespace) -> str:
    env = bench_env(args)
    ids = await prepare_data(args, env)
    os.environ.update(env)
    os.environ["BENCH_VARIANT"] = "b3x"
    from bench import b3  # builds the app from the environment set above
    from sigma_graphql.observability import tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    transport = httpx.ASGITransport(app=b3.app)
    rows: list[tuple[str, str, float, float, float]] = []
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise here
    async with (
        b3.app.router.lifespan_context(b3.app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for key in args.shapes:
            shape = SHAPES[key]
            body = _body(shape, ids)
            token = ids["tokens"][shape.audience]
            headers = {"Authorization": f"Bearer {token}"} if token else {}

            async def one(body: dict[str, Any] = body, headers: dict[str, str] = headers) -> None:
                resp = await client.post("/graphql", json=body, headers=headers)
                payload = resp.json()
                if payload.get("errors"):
                    raise RuntimeError(json.dumps(payload["errors"])[:500])

            for _ in range(args.warmup):
                await one()
            per_round: dict[bool, list[float]] = {False: [], True: []}
            spans_per_request = 0.0
            for _ in range(args.rounds):
                for traced in (False, True):
                    tracing.use_provider(provider if traced else None)
                    exporter.clear()
                    started = time.process_time()
                    for _ in range(args.requests):
                        await one()
                    if traced:
                        provider.force_flush()
                        spans_per_request = len(exporter.get_finished_spans()) / args.requests
                    cpu = time.process_time() - started
                    per_round[traced].append(cpu / args.requests * 1000)
            tracing.use_provider(None)
            off = statistics.median(per_round[False])
            on = statistics.median(per_round[True])
            rows.append((key, shape.name, off, on, spans_per_request))
    span_us = _span_cost_us(provider)
    lines = [
        f"| ({key}) {name} | {off:.2f} | {on:.2f} | {(on - off) / off * 100:+.1f} % "
        f"| {spans:.0f} | {spans * span_us / 1000 / off * 100:.1f} % |"
        for key, name, off, on, spans in rows
    ]
    head = (
        f"# {args.rounds} rounds x {args.requests} requests per setting and shape "
        f"(median round), b3x in process; one span costs {span_us:.1f} us of CPU\n"
        "| shape | CPU ms/request, tracing off | tracing on | measured | spans/request "
        "| spans x span cost |\n"
        "|---|---|---|---|---|---|"
    )
    return "\n".join([head, *lines])


def _span_cost_us(provider: TracerProvider, n: int = 20_000) -> float:
    """CPU of one child span as the instrumentation makes them (start, attributes, end, batch
    export to memory): a noise-free complement of the per-request figures."""
    from sigma_graphql.observability import tracing

    tracing.use_provider(provider)
    try:
        started = time.process_time()
        with tracing.span("graphql.operation"):
            for _ in range(n):
                with tracing.span("cassandra SELECT t", {"db.system": "cassandra", "k": "x"}):
                    pass
        provider.force_flush()
        return (time.process_time() - started) / n * 1e6
    finally:
        tracing.use_provider(None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--shapes", nargs="+", default=sorted(SHAPES), choices=sorted(SHAPES))
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=10)
    add_dataset_args(p, synthetic=10_000)
    args = p.parse_args(argv)
    print(asyncio.run(_measure(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
