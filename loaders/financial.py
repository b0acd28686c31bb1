"""Loaders for monthly revenue logs (Cassandra).

`log_pages` serves UMKM.financialLogs for every UMKM of a request in waves that do not depend on
how many UMKMs there are: one multi-partition read of umkm_log_years for all of them, then one
multi-partition read of the needed year partitions (per 100 UMKMs); a further wave only when
sparse years left a page short. `log_by_key` batches single months the same way.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from db import financial_logs as fl
from db.drivers.cassandra import Row
from loaders.dataloader import DataLoader

if TYPE_CHECKING:
    from db.drivers.handles import Databases

MONTHS_PER_YEAR = 12


class PageKey(NamedTuple):
    umkm_id: uuid.UUID
    tahun: int | None  # only this year
    first: int
    after: tuple[int, int] | None  # keyset: strictly older than (tahun, bulan)


class Page(NamedTuple):
    rows: list[Row]
    has_next: bool


@dataclass
class _Progress:
    key: PageKey
    years: list[int]  # still to read, newest first
    rows: list[Row] = field(default_factory=list)


async def load_pages(dbs: Databases, keys: Sequence[PageKey]) -> list[Page]:
    cass = dbs.cassandra
    open_ids = list(dict.fromkeys(k.umkm_id for k in keys if k.tahun is None))
    years_by = await fl.years_of(cass, open_ids) if open_ids else {}
    progress = []
    for k in keys:
        ys = [k.tahun] if k.tahun is not None else list(years_by.get(k.umkm_id, []))
        if k.after is not None:
            ys = [y for y in ys if y <= k.after[0]]
        progress.append(_Progress(k, ys))
    while True:
        plan: dict[int, list[int]] = {}
        for i, p in enumerate(progress):
            # Rows still wanted (one more than `first`, to tell whether there is a next page);
            # done when none, or no year is left to read.
            wanted = p.key.first + 1 - len(p.rows)
            if wanted <= 0 or not p.years:
                continue
            take = max(1, math.ceil(wanted / MONTHS_PER_YEAR))
            plan[i], p.years = p.years[:take], p.years[take:]
        if not plan:
            break
        found = await fl.logs_in(
            cass,
            [progress[i].key.umkm_id for i in plan],
            {y for ys in plan.values() for y in ys},
        )
        for i, ys in plan.items():
            p = progress[i]
            after = p.key.after
            for y in ys:
                rows = found.get((p.key.umkm_id, y), [])
                if after is not None:
                    rows = [row for row in rows if (row["tahun"], row["bulan"]) < after]
                p.rows.extend(rows)
    return [
        Page(p.rows[: p.key.first], len(p.rows) > p.key.first or bool(p.years)) for p in progress
    ]


def log_pages(dbs: Databases) -> DataLoader[PageKey, Page]:
    async def load(keys: Sequence[PageKey]) -> list[Page]:
        return await load_pages(dbs, keys)

    return DataLoader(load_fn=load)


LogKey = tuple[uuid.UUID, int, int]


def log_by_key(dbs: Databases) -> DataLoader[LogKey, Row | None]:
    """Single months by (umkm_id, tahun, bulan): one multi-partition read per batch."""

    async def load(keys: Sequence[LogKey]) -> list[Row | None]:
        found = await fl.logs_in(dbs.cassandra, [k[0] for k in keys], {k[1] for k in keys})
        by_key = {
            (r["umkm_id"], r["tahun"], r["bulan"]): r for rows in found.values() for r in rows
        }
        return [by_key.get(k) for k in keys]

    return DataLoader(load_fn=load)
