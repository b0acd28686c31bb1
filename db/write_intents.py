"""Intents of the two-database writes: what a write may leave half-done if it dies.

Every revenue and flag write (db/writes/financial.py) and every UMKM write with Cassandra
follow-ups (db/writes/umkm.py) records an intent BEFORE its first step and marks it done AFTER
its last. An intent still open after `SIGMA_INTENT_REPAIR_AGE_S` belongs to a write that died or
failed halfway (API killed, Cassandra killed or paused, a timeout); the reconciler repairs it
(db/maintenance/intent_repair.py). An intent names what the write may have moved:
- kind LOG: one month (umkm_id, tahun, bulan) and the (sektor, kota) pairs of its old and new
  contribution (db/writes/aggregates.py);
- kind UMKM: an UMKM whose profile changed; the (sektor, kota) pairs and count statuses of the
  profile before and after (all its months may move, its verification task may lag);
- kind FLAG: one month (umkm_id, tahun, bulan) whose is_flagged a flag, unflag or delete may
  flip; the year's flagged count (flagged_counts) may move. No pairs: the month's contribution
  to the aggregates does not depend on its flag.
The reconciler also uses open and recent intents to know which aggregate cells are being written
right now (`touches_*`), and repairs only cells nobody is writing.

Table `write_intents`: partition (slot, shard) = (unix minute of creation, stable hash of the
UMKM mod SHARDS), bounded by the write rate of one minute; rows expire after two days.
Costs per write: one insert before (a revenue write sends it together with the year index, so
it adds no round trip of its own) and one update after (one more round trip).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from cassandra.util import unix_time_from_uuid1, uuid_from_time

from db.drivers.cassandra import Cassandra, Row
from db.drivers.mongo import MongoDoc

SLOT_S = 60
SHARDS = 16
LOG = "LOG"
UMKM = "UMKM"
FLAG = "FLAG"
# Partitions read at once by a scan.
SCAN_CONCURRENCY = 64

Pair = tuple[str, str]  # (sektor, kota)


class Counted(Protocol):
    """A month's contribution (db/aggregates.Contribution)."""

    @property
    def sektor(self) -> str: ...

    @property
    def kota(self) -> str: ...


INSERT = (
    "INSERT INTO write_intents (slot, shard, intent_id, kind, umkm_id, tahun, bulan, pairs, "
    "statuses, done) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, false)"
)
WIDEN = (
    "UPDATE write_intents SET pairs = pairs + ?, statuses = statuses + ? "
    "WHERE slot = ? AND shard = ? AND intent_id = ?"
)
FINISH = "UPDATE write_intents SET done = true WHERE slot = ? AND shard = ? AND intent_id = ?"
SCAN = (
    "SELECT slot, shard, intent_id, kind, umkm_id, tahun, bulan, pairs, statuses, done "
    "FROM write_intents WHERE slot = ? AND shard = ?"
)


def slot_of(unix_s: float) -> int:
    return int(unix_s // SLOT_S)


def shard_of(umkm_id: uuid.UUID) -> int:
    """Stable across processes and versions (Python's hash() of a UUID is not documented)."""
    return umkm_id.int % SHARDS


@dataclass(frozen=True)
class Intent:
    slot: int
    shard: int
    intent_id: uuid.UUID
    kind: str
    umkm_id: uuid.UUID
    tahun: int | None = None
    bulan: int | None = None
    pairs: frozenset[Pair] = field(default_factory=frozenset)
    statuses: frozenset[str] = field(default_factory=frozenset)
    done: bool = False

    @property
    def created(self) -> float:
        """Unix seconds of creation, by the writer's clock."""
        return float(unix_time_from_uuid1(self.intent_id))

    def _month(self, tahun: int, bulan: int) -> bool:
        return self.kind == UMKM or (self.tahun, self.bulan) == (tahun, bulan)

    def touches_pair(self, sektor: str, tahun: int, kota: str, bulan: int) -> bool:
        return (sektor, kota) in self.pairs and self._month(tahun, bulan)

    def touches_sector(self, sektor: str, tahun: int, bulan: int) -> bool:
        return any(p[0] == sektor for p in self.pairs) and self._month(tahun, bulan)

    def touches_region(self, kota: str, tahun: int, bulan: int) -> bool:
        return any(p[1] == kota for p in self.pairs) and self._month(tahun, bulan)

    def touches_flags(self, tahun: int) -> bool:
        return self.kind == FLAG and self.tahun == tahun

    def touches_count(self, scope: str, name: str) -> bool:
        if self.kind != UMKM:
            return False
        if scope == "status":
            return name in self.statuses
        index = 0 if scope == "sektor" else 1
        return any(p[index] == name for p in self.pairs)


def pairs_of(contributions: Iterable[Counted | None]) -> frozenset[Pair]:
    return frozenset((c.sektor, c.kota) for c in contributions if c is not None)


def profile_pairs(docs: Iterable[MongoDoc | None]) -> frozenset[Pair]:
    """The cells a profile's months can be counted in (whatever its status)."""
    out: set[Pair] = set()
    for doc in docs:
        if doc is not None and doc.get("sektor") and (doc.get("wilayah") or {}).get("kota"):
            out.add((doc["sektor"], doc["wilayah"]["kota"]))
    return frozenset(out)


async def _insert(cass: Cassandra, intent: Intent) -> Intent:
    await cass.execute(
        INSERT,
        (
            intent.slot,
            intent.shard,
            intent.intent_id,
            intent.kind,
            intent.umkm_id,
            intent.tahun,
            intent.bulan,
            set(intent.pairs),
            set(intent.statuses),
        ),
    )
    return intent


def _new(
    kind: str,
    umkm_id: uuid.UUID,
    *,
    tahun: int | None = None,
    bulan: int | None = None,
    pairs: frozenset[Pair] = frozenset(),
    statuses: frozenset[str] = frozenset(),
) -> Intent:
    now = time.time()
    return Intent(
        slot_of(now),
        shard_of(umkm_id),
        uuid_from_time(now),
        kind,
        umkm_id,
        tahun=tahun,
        bulan=bulan,
        pairs=pairs,
        statuses=statuses,
    )


async def open_log(
    cass: Cassandra,
    umkm_id: uuid.UUID,
    tahun: int,
    bulan: int,
    contributions: Iterable[Counted | None],
) -> Intent:
    return await _insert(
        cass, _new(LOG, umkm_id, tahun=tahun, bulan=bulan, pairs=pairs_of(contributions))
    )


async def open_flag(cass: Cassandra, umkm_id: uuid.UUID, tahun: int, bulan: int) -> Intent:
    return await _insert(cass, _new(FLAG, umkm_id, tahun=tahun, bulan=bulan))


async def open_umkm(
    cass: Cassandra, umkm_id: uuid.UUID, docs: Iterable[MongoDoc | None], statuses: Iterable[str]
) -> Intent:
    listed = list(docs)
    return await _insert(
        cass,
        _new(UMKM, umkm_id, pairs=profile_pairs(listed), statuses=frozenset(statuses)),
    )


async def widen(
    cass: Cassandra, intent: Intent, pairs: Iterable[Pair], statuses: Iterable[str] = ()
) -> Intent:
    """Adds cells to an open intent (a retry, or a repair, found another contribution), so a
    crash after that point still leaves them named. No statement when nothing is new."""
    more_pairs = frozenset(pairs) - intent.pairs
    more_statuses = frozenset(statuses) - intent.statuses
    if not more_pairs and not more_statuses:
        return intent
    await cass.execute(
        WIDEN,
        (set(more_pairs), set(more_statuses), intent.slot, intent.shard, intent.intent_id),
    )
    return replace(
        intent, pairs=intent.pairs | more_pairs, statuses=intent.statuses | more_statuses
    )


async def finish(cass: Cassandra, intents: Iterable[Intent]) -> None:
    await asyncio.gather(
        *(cass.execute(FINISH, (i.slot, i.shard, i.intent_id)) for i in intents if not i.done)
    )


def _from_row(row: Row) -> Intent:
    return Intent(
        slot=row["slot"],
        shard=row["shard"],
        intent_id=row["intent_id"],
        kind=row["kind"],
        umkm_id=row["umkm_id"],
        tahun=row["tahun"],
        bulan=row["bulan"],
        pairs=frozenset(tuple(p) for p in row["pairs"] or ()),  # type: ignore[misc]
        statuses=frozenset(row["statuses"] or ()),
        done=bool(row["done"]),
    )


async def scan(cass: Cassandra, first_slot: int, last_slot: int) -> list[Intent]:
    """Every intent (open or done) created in slots first_slot..last_slot."""
    keys = [(s, h) for s in range(first_slot, last_slot + 1) for h in range(SHARDS)]
    gate = asyncio.Semaphore(SCAN_CONCURRENCY)

    async def one(key: tuple[int, int]) -> list[Row]:
        async with gate:
            return await cass.execute(SCAN, key)

    parts = await asyncio.gather(*(one(k) for k in keys))
    return [_from_row(r) for rows in parts for r in rows]


class LogIntents:
    """The intents of one revenue write: opened on the first `cover`, widened when a retry
    meets another old contribution, all marked done by `finish`."""

    def __init__(self, cass: Cassandra, umkm_id: uuid.UUID, tahun: int, bulan: int) -> None:
        self.cass, self.umkm_id, self.tahun, self.bulan = cass, umkm_id, tahun, bulan
        self.intent: Intent | None = None

    async def cover(self, contributions: Iterable[Counted | None]) -> None:
        if self.intent is None:
            self.intent = await open_log(
                self.cass, self.umkm_id, self.tahun, self.bulan, contributions
            )
        else:
            self.intent = await widen(self.cass, self.intent, pairs_of(contributions))

    async def finish(self) -> None:
        if self.intent is not None:
            await finish(self.cass, [self.intent])
