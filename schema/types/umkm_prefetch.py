"""List-level prefetch for UMKM lists: owner and financialLogs for the whole page at once.

A per-item async field costs a coroutine, a future and graphql-core's async completion per
UMKM (about 200 per 100-item page with both fields). When the list resolver sees these fields
selected on its nodes, it loads them here through the same DataLoaders (so round trips are
the same batches as before) and attaches the results to the UMKM objects; the fields then
return them synchronously (schema/types/umkm.py). Anything not prefetched (aliases with different
arguments, bad arguments) falls back to the per-item load, which finds the loader's cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from loaders.financial import log_pages
from loaders.users import user_by_id
from schema.types import financial, users
from sigma_graphql.core.errors import AppError
from sigma_graphql.permissions import can_read_owned
from sigma_graphql.request.context import Context, Info
from sigma_graphql.request.selection import Selected, below, selected

if TYPE_CHECKING:
    # Imports among users, umkm, financial and this module: see schema/types/users.py.
    from schema.types.financial import LogArgs
    from schema.types.umkm import UMKM

DEFAULT_LOGS_FIRST = 24  # UMKM.financialLogs(first: Int = 24)


async def prefetch(info: Info, nodes: list[UMKM]) -> None:
    """Attach owner / financialLogs to `nodes` when the connection's nodes or edges select them."""
    if not nodes:
        return
    ctx = info.context
    umkm_fields = selected(info, "nodes") + selected(info, "edges", "node")
    jobs: list[Coroutine[Any, Any, None]] = []
    if below(umkm_fields, "owner"):
        jobs.append(_owners(ctx, nodes))
    logs = below(umkm_fields, "financialLogs")
    arg_sets = {_log_args(f) for f in logs}
    if len(arg_sets) == 1:  # aliases with different arguments: left to the fields
        with_edges = bool(below(logs, "edges"))
        jobs.append(_logs(ctx, nodes, arg_sets.pop(), with_edges))
    if jobs:
        await asyncio.gather(*jobs)


def _log_args(field: Selected) -> LogArgs:
    # Strawberry gives literals as their source text and variables as coerced values.
    a = field.arguments
    return (_int(a.get("tahun")), _int(a.get("first", DEFAULT_LOGS_FIRST)), _str(a.get("after")))


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, str | int) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def _owners(ctx: Context, nodes: list[UMKM]) -> None:
    viewer = ctx.viewer
    # The same rule as schema.types.umkm.umkm_owner, which answers None itself for the others.
    owner_ids = [n.owner_id for n in nodes]
    readable = can_read_owned(viewer, "UMKM.owner", owner_ids)
    visible = [
        (n, owner)
        for n, owner, ok in zip(nodes, owner_ids, readable, strict=True)
        if owner is not None and ok
    ]
    docs = await ctx.loaders.get(user_by_id).load_many([owner for _, owner in visible])
    for (n, _), doc in zip(visible, docs, strict=True):
        n.prefetched_owner = (users.user_from_doc(doc, viewer) if doc else None,)


async def _logs(ctx: Context, nodes: list[UMKM], args: LogArgs, with_edges: bool) -> None:
    try:
        keys = financial.log_page_keys(ctx, nodes, args)
    except AppError:
        return  # bad first/after: each field reports it as before
    wanted = [k for k in keys if k is not None]
    pages = iter(await ctx.loaders.get(log_pages).load_many(wanted))
    for n, key in zip(nodes, keys, strict=True):
        conn = (
            financial.empty_logs()
            if key is None
            else financial.page_connection(next(pages), with_edges)
        )
        n.prefetched_logs = (args, conn)
