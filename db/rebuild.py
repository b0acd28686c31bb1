"""Rebuilds aggregates and summaries from the source of truth (owned by the financial issue)."""

from __future__ import annotations

from db.handles import Databases


async def rebuild_aggregates(dbs: Databases) -> str:
    # Placeholder until the financial issue lands the real rebuild (issue 5).
    del dbs
    return "aggregates: rebuild not implemented yet"
