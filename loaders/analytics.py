"""Loaders for analytics: every log row of an UMKM, batched across the UMKMs of a request."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from db import analytics
from db.drivers.cassandra import Row
from loaders.dataloader import DataLoader

# (dimension 'sektor' or 'kota', years, one name or None for every name dashboard_keys lists)
DimensionKey = tuple[str, tuple[int, ...], str | None]
DimensionRow = tuple[str, int, int, int, int]

if TYPE_CHECKING:
    from db.drivers.handles import Databases


def logs_by_umkm(dbs: Databases) -> DataLoader[uuid.UUID, list[Row]]:
    """All log rows of each UMKM (any year): umkm_log_years, then the year partitions with
    `IN` statements, so a list of UMKMs costs the same few round trips as one (per 100
    partitions)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[list[Row]]:
        grouped: dict[uuid.UUID, list[Row]] = {i: [] for i in ids}
        for row in await analytics.all_logs(dbs.cassandra, list(dict.fromkeys(ids))):
            grouped[row["umkm_id"]].append(row)
        return [grouped[i] for i in ids]

    return DataLoader(load_fn=load)


def dimension_rows(dbs: Databases) -> DataLoader[DimensionKey, list[DimensionRow]]:
    """Aggregate rows of one dimension: the named partition, or every partition dashboard_keys
    lists for the years. Cached per request because several root fields read the same
    partitions in one document (officialDashboard's last-month total and sectorStats of that
    year: the sector table of the same year); each distinct key is read once."""

    async def one(key: DimensionKey) -> list[DimensionRow]:
        dimension, years, only = key
        if only is not None:
            names = [only]
        else:
            names = [n for _, n in await analytics.dashboard_names(dbs.cassandra, dimension, years)]
        read = analytics.sector_months if dimension == "sektor" else analytics.region_months
        return await read(dbs.cassandra, names, years)

    async def load(keys: Sequence[DimensionKey]) -> list[list[DimensionRow]]:
        return list(await asyncio.gather(*(one(k) for k in keys)))

    return DataLoader(load_fn=load)
