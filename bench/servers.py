"""The baseline servers: `uvicorn bench.servers:app` with BENCH_VARIANT=b0|b1|b2, BENCH_SHAPE.

- b0: the pre-encoded response bytes of the shape (BENCH_BODY_FILE): HTTP + socket floor.
- b1: bench/raw.py builders, no GraphQL: the physical limit of our stack.
- b2: graphql-core executing the document (bench/core.py).
All three authenticate like the real server (session lookup for a Bearer token), count database
round trips the same way and encode with orjson. B3 is the real app (sigma_graphql.server.asgi:app).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from inspect import isawaitable
from pathlib import Path
from typing import Any

import orjson
from graphql import execute
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from bench import core, raw
from db.drivers import roundtrips
from db.drivers.handles import Databases
from sigma_graphql.core import heap
from sigma_graphql.core.settings import load_settings
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.request.context import resolve_viewer


@dataclass
class CoreContext:
    dbs: Databases
    viewer: Viewer


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def create(variant: str, shape: str) -> Starlette:
    settings = load_settings()
    state: dict[str, Any] = {}
    schema = core.make_schema(shape) if variant == "b2" else None
    body_file = os.environ.get("BENCH_BODY_FILE")
    canned = Path(body_file).read_bytes() if variant == "b0" and body_file else b"{}"

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        state["dbs"] = Databases.open(settings)
        heap.settle_after_startup()  # the same collector settings as the real server (B3)
        try:
            yield
        finally:
            await state["dbs"].close()

    async def b0(request: Request) -> Response:
        await request.body()
        return Response(canned, media_type="application/json")

    async def b1(request: Request) -> Response:
        counter, token = roundtrips.start()
        try:
            body = orjson.loads(await request.body())
            dbs: Databases = state["dbs"]
            viewer = await resolve_viewer(request, dbs)
            data = await raw.build(shape, raw.Request(dbs, viewer, body.get("variables") or {}))
            return _json({"data": data, "extensions": {"dbRoundTrips": counter.as_dict()}})
        finally:
            roundtrips.stop(token)

    async def b2(request: Request) -> Response:
        assert schema is not None
        counter, token = roundtrips.start()
        try:
            body = orjson.loads(await request.body())
            query = body["query"]
            errors = core.validated(schema, query)
            if errors:
                return _json({"errors": [e.formatted for e in errors]})
            dbs: Databases = state["dbs"]
            viewer = await resolve_viewer(request, dbs)
            result = execute(
                schema,
                core.parsed(query),
                context_value=CoreContext(dbs, viewer),
                variable_values=body.get("variables"),
                operation_name=body.get("operationName"),
            )
            if isawaitable(result):
                result = await result
            payload: dict[str, Any] = {"data": result.data}
            if result.errors:
                payload["errors"] = [e.formatted for e in result.errors]
            payload["extensions"] = {"dbRoundTrips": counter.as_dict()}
            return _json(payload)
        finally:
            roundtrips.stop(token)

    chosen = {"b0": b0, "b1": b1, "b2": b2}[variant]

    async def handler(request: Request) -> Response:
        try:
            return await chosen(request)
        except ClientDisconnect:  # wrk closing its connections at the end of a run
            return Response(status_code=499)

    return Starlette(routes=[Route("/graphql", handler, methods=["POST"])], lifespan=lifespan)


app = create(os.environ.get("BENCH_VARIANT", "b1"), os.environ.get("BENCH_SHAPE", "a"))
