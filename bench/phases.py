"""`python -m bench.phases --shape a --set first=1`: where one request's CPU goes, B1 against B3X.

Both apps (bench/servers.py's B1 route, bench/b3.py's B3X) run in this process and are called
as ASGI apps, one request at a time, without HTTP or a socket. Each app gets rounds of
`--requests` requests, alternating; the figure is the main thread's CPU per request (the
drivers' threads are left out: they do the same work for both). Phases are inclusive: each
wrapped coroutine's main-thread CPU from its call to its return, everything it awaited
included, so `find_page` is the MongoDB driver's cost of one query for both apps and the rest
is what the app adds around it. The wrappers cost a little themselves (two clock reads each).

`--set first=1` overrides variables (ints): with one item, per-item work vanishes and the
per-request pipeline shows; compare with the shape's own `first`.

A third app, LEAN, is the floor of a request pipeline of our own: the body parsed, the real
context built (`SigmaGraphQL.get_context`: session, loaders), the document parsed once,
graphql-core's `execute` with our FastExecutor and resolvers on the served schema, the answer
encoded with orjson. No Strawberry view, no extension runner, and so none of what the extensions
do (validation cache lookups, cost and budget, argument guard, logging line, metrics, error
policy): what is left between LEAN and B3X is their price plus Strawberry's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable, Coroutine, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from bench.cpu import _bodies
from bench.run import add_dataset_args, bench_env, prepare_data
from bench.shapes import SHAPES

Asgi = Callable[..., Coroutine[Any, Any, None]]
Message = MutableMapping[str, Any]


async def _call(app: Asgi, body: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def _started(app: Asgi) -> asyncio.Task[None]:
    """Runs the app's lifespan startup; the returned task keeps it alive."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    message = await outbox.get()
    assert message["type"] == "lifespan.startup.complete", message
    return task


def lean_app(b3_app: Any, query: str, *, with_extensions: bool = False) -> Asgi:
    """LEAN (module docstring) over the view of the real app `b3_app`; `with_extensions` runs
    the document through Strawberry's `Schema.execute` instead (its parser and validation
    caches and our extensions' hooks, still no HTTP view): LEANX in bench.cpu."""
    from graphql import ExecutionResult, parse
    from graphql import execute as graphql_execute
    from graphql.execution.middleware import MiddlewareManager
    from starlette.requests import Request
    from strawberry.execution.is_awaitable import optimized_is_awaitable

    from sigma_graphql.execution.fast_execution import FastExecutor

    view = next(r for r in b3_app.routes if getattr(r, "path", "") == "/graphql").endpoint
    schema = view.schema._schema
    document = parse(query)

    async def app(scope: Message, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        data = orjson.loads(await request.body())
        context = await view.get_context(request, None)
        if with_extensions:
            result: Any = await view.schema.execute(
                query,
                variable_values=data.get("variables"),
                context_value=context,
                operation_name=data.get("operationName"),
            )
        else:
            result = graphql_execute(
                schema,
                document,
                context_value=context,
                variable_values=data.get("variables"),
                executor_class=FastExecutor,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as Strawberry passes it
                middleware=MiddlewareManager(),
            )
            if not isinstance(result, ExecutionResult):
                result = await result
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        body = orjson.dumps(answer)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


PhaseTimes = dict[str, float]


def _wrap(owner: Any, name: str, times: PhaseTimes) -> None:
    fn = getattr(owner, name)
    label = f"{getattr(owner, '__name__', owner)}.{name}"

    async def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return await fn(*args, **kwargs)
        finally:
            times[label] = times.get(label, 0.0) + time.thread_time() - start

    setattr(owner, name, timed)


def _instrument(times: PhaseTimes) -> None:
    import strawberry.http.async_base_view as view
    import strawberry.schema.schema as strawberry_schema

    from db import umkm_profiles
    from loaders import financial
    from sigma_graphql.server import app

    _wrap(view.AsyncBaseHTTPView, "run", times)
    _wrap(app.SigmaGraphQL, "parse_http_body", times)
    _wrap(app.SigmaGraphQL, "get_context", times)
    _wrap(strawberry_schema.Schema, "execute", times)
    _wrap(strawberry_schema.Schema, "_execute_operation", times)
    _wrap(umkm_profiles, "find_page", times)
    _wrap(financial, "load_pages", times)


@dataclass
class InProcess:
    """B1, B3X and LEAN as ASGI apps in this process (their lifespans running), and the
    request of a shape: its body and headers."""

    apps: dict[str, Asgi]
    body: bytes
    headers: list[tuple[bytes, bytes]]
    variables: dict[str, Any]
    alive: list[asyncio.Task[None]]
    writes: list[tuple[bytes, list[tuple[bytes, bytes]]]]  # (e): a body and token per request

    def request(self, i: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """The i-th request's body and headers: the shape's own, or for (e) the i-th write (a
        different owner, UMKM, month and amount, as bench.cpu and the wrk script send)."""
        if self.writes:
            return self.writes[i % len(self.writes)]
        return self.body, self.headers

    def stop(self) -> None:
        for task in self.alive:
            task.cancel()


async def in_process(args: argparse.Namespace) -> InProcess:
    """The three apps on the data set of `args` (add_dataset_args), for `args.shape` with the
    variable overrides of `args.set`."""
    env = bench_env(args)
    ids = await prepare_data(args, env)
    os.environ.update(env)
    # Both apps run their lifespans in this process; their background tasks (the reconciler's
    # scan, the database probes, the export worker's scan) would run inside whichever app's
    # measured window they fall in: 200-300 calls per request in a 30-request window, counted
    # against B1 in one run and B3X in the next. They are per process and time, not per
    # request: off here (bench.cpu, one server process per variant, keeps them and subtracts
    # the idle rate).
    os.environ.update(
        SIGMA_RECONCILE_INTERVAL_S="0",
        SIGMA_PROBE_INTERVAL_S="3600",
        SIGMA_EXPORT_SCAN_INTERVAL_S="3600",
    )
    os.environ["BENCH_VARIANT"] = "b1"  # both modules build an app from it when imported
    from bench import servers

    os.environ["BENCH_VARIANT"] = "b3x"
    from bench import b3

    shape = SHAPES[args.shape]
    variables: dict[str, Any] = dict(shape.variables)
    if "tahun" in variables:
        variables["tahun"] = ids["year"]
    for pair in filter(None, args.set.split(",")):
        key, value = pair.split("=")
        variables[key] = int(value)
    body = orjson.dumps({"query": shape.query, "variables": variables})
    token = ids["tokens"][shape.audience]
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    apps: dict[str, Asgi] = {"B1": servers.create("b1", args.shape), "B3X": b3.app}
    alive = [await _started(app) for app in apps.values()]
    apps["LEAN"] = lean_app(b3.app, shape.query)
    writes = [
        (w, [(b"authorization", f"Bearer {t}".encode())])
        for w, t in (_bodies("e", ids, 500) if args.shape == "e" else [])
    ]
    return InProcess(apps, body, headers, variables, alive, writes)


async def _measure(args: argparse.Namespace) -> str:
    setup = await in_process(args)
    apps, body, headers, variables = setup.apps, setup.body, setup.headers, setup.variables
    shape = SHAPES[args.shape]
    times: PhaseTimes = {}
    _instrument(times)
    totals: dict[str, list[float]] = {name: [] for name in apps}
    phases: dict[str, list[PhaseTimes]] = {name: [] for name in apps}
    for app in apps.values():
        for _ in range(args.warmup):
            answer = await _call(app, body, headers)
        assert b'"errors"' not in answer, answer[:500]
    for _ in range(args.rounds):
        for name, app in apps.items():
            times.clear()
            start = time.thread_time()
            for _ in range(args.requests):
                await _call(app, body, headers)
            totals[name].append((time.thread_time() - start) / args.requests * 1000)
            phases[name].append({k: v / args.requests * 1000 for k, v in times.items()})
    setup.stop()
    lines = [
        f"# ({shape.key}) {shape.name}, variables {variables}, {args.rounds} rounds x "
        f"{args.requests} requests; main-thread CPU ms per request, medians",
        "",
        "| phase | " + " | ".join(apps) + " |",
        "|---|" + "---:|" * len(apps),
        "| whole request | "
        + " | ".join(f"{statistics.median(totals[n]):.3f}" for n in apps)
        + " |",
    ]
    labels = sorted({k for rounds in phases.values() for r in rounds for k in r})
    for label in labels:
        cells = [statistics.median(r.get(label, 0.0) for r in phases[n]) for n in apps]
        lines.append(f"| {label} | " + " | ".join(f"{c:.3f}" if c else "-" for c in cells) + " |")
    return "\n".join(lines)


def add_in_process_args(p: argparse.ArgumentParser, shapes: Iterable[str], requests: int) -> None:
    """The options in_process() reads (the data set, --shape, --set) and the request counts."""
    p.add_argument("--shape", default="a", choices=sorted(shapes))
    p.add_argument("--set", default="", help="variable overrides, e.g. first=1")
    p.add_argument("--requests", type=int, default=requests)
    p.add_argument("--warmup", type=int, default=10)
    add_dataset_args(p, synthetic=2000)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    add_in_process_args(p, (k for k in SHAPES if k != "e"), requests=100)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    print(asyncio.run(_measure(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
