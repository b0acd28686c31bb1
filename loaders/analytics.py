"""Loaders for analytics: every log row of an UMKM, batched across the UMKMs of a request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from db import analytics
from db.cassandra import Row

if TYPE_CHECKING:
    from sigma_graphql.context import Context


def logs_by_umkm(ctx: Context) -> DataLoader[uuid.UUID, list[Row]]:
    """All log rows of each UMKM (any year): umkm_log_years, then the year partitions with
    `IN` statements, so a list of UMKMs costs the same few round trips as one (per 100
    partitions)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[list[Row]]:
        grouped: dict[uuid.UUID, list[Row]] = {i: [] for i in ids}
        for row in await analytics.all_logs(ctx.cassandra, list(dict.fromkeys(ids))):
            grouped[row["umkm_id"]].append(row)
        return [grouped[i] for i in ids]

    return DataLoader(load_fn=load)
