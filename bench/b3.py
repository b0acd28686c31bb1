"""B3: the real application, with budgets large enough that the load generator (one client
address) is never rate limited. The cost is still computed and spent on every request.

BENCH_VARIANT picks the configuration: b3 as deployed (inline leaves, public answer cache),
b3x without the public answer cache, b3s with Strawberry's stock execution and no cache (what
B3 measured before sigma_graphql/execution/fast_execution.py and
sigma_graphql/limits/response_cache.py).

`lean` (BENCH_VARIANT=lean) serves POST /graphql with bench/phases.py's LEAN pipeline over the
b3x app (its lifespan, databases, context and executor): the body parsed, the context built,
the shape's document executed by graphql-core with our executor, orjson; no Strawberry view,
no extension, no middleware. It answers only the shape it was started for (BENCH_SHAPE): the
floor of a request pipeline of our own, measured like the others (bench.cpu). `leanx` is the
same with Strawberry's `Schema.execute` (parser and validation caches, our extensions' hooks)
in place of graphql-core's `execute`: between them, what the extensions cost; between `leanx`
and b3x, what Starlette's routing and Strawberry's HTTP view cost."""

from __future__ import annotations

import os
from typing import Any

from sigma_graphql.core.settings import load_settings
from sigma_graphql.server.app import create_app

_UNLIMITED = ("PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN")

VARIANTS: dict[str, dict[str, Any]] = {
    "b3": {},
    "b3x": {"public_cache_ttl_s": 0.0},
    "b3s": {"public_cache_ttl_s": 0.0, "fast_execution": False},
    "lean": {"public_cache_ttl_s": 0.0},
    "leanx": {"public_cache_ttl_s": 0.0},
}

app = create_app(
    load_settings().with_overrides(
        budget_burst={a: 10**15 for a in _UNLIMITED},
        # Refilled within a second: every server process leases a tenth of the burst and
        # loses what it did not spend when it stops, and the harness starts many servers on
        # the same identities (a 1e12/s refill emptied the shared buckets across runs).
        budget_refill_per_s={a: 1e15 for a in _UNLIMITED},
        **VARIANTS[os.environ.get("BENCH_VARIANT", "b3")],
    )
)


def _lean(with_extensions: bool) -> Any:
    from bench.phases import lean_app
    from bench.shapes import SHAPES

    query = SHAPES[os.environ.get("BENCH_SHAPE", "a")].query
    inner = lean_app(app, query, with_extensions=with_extensions)

    async def served(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql" and scope["method"] == "POST":
            await inner(scope, receive, send)
        else:
            await app(scope, receive, send)

    return served


_variant = os.environ.get("BENCH_VARIANT")
lean = _lean(_variant == "leanx") if _variant in ("lean", "leanx") else None
