"""Repairs what writes left open by a fault (API killed, Cassandra killed or paused, a timeout).

The reconciler (sigma_graphql/server/reconciler.py) hands over the intents (db/write_intents.py)
open for longer than SIGMA_INTENT_REPAIR_AGE_S. Why recompute instead of replaying deltas: a counter
increment is not idempotent, and one that failed or timed out may or may not have landed, so nobody
can tell whether an open intent's deltas were applied. The repair therefore makes every cell the
intent names exact again from the source of truth, in phases:
  A. per UMKM: its verification task (UMKM writes, db/verification_repair.repair_umkm), counted_*
     of the named months brought in line with the profile WITHOUT deltas (aggregates.sync_row
     apply=False), summary_terakhir refreshed, umkm_counted recorded (umkm_counts.sync
     apply=False); cells found on the way are added to the intent first (write_intents.widen);
  B. its quarter totals := the sum of its months; each named (sektor, tahun, kota, bulan) pair
     cell := the sum of counted_* of the month over the UMKMs whose profile is in (sektor, kota)
     (found through the sektor_kota index) and the UMKMs of open intents naming the pair;
  C. each named sector cell := the sum of its pair cells (one partition), each region cell := the
     sum of its kota's pair cells over the year's sectors: hot cells are read for milliseconds;
  D. each named profile count := the MongoDB count;
  E. each year named by a FLAG intent (a flag, unflag or delete of a flagged month): its
     flagged count := the year's flagged rows, recounted from the flagged_logs index confirmed
     against the rows (fl.count_flagged_rows).
A cell is set by reading it and adding the difference, which is exact only if no write moves the
cell between the reads and the addition. Every such write has an intent, recorded before its
first step; so each phase takes a snapshot of the recent intents before its reads and another
after, and leaves for the next round every cell named by an intent that was open in the first,
new in the second, or open at the round's start (`Blockers`). Intents are matched by identity,
not by clock, except for which minutes are read (SKEW_S around now).
A repaired intent stays open for one more round, which must find nothing to fix before it is
marked done: a delta that landed late (a paused Cassandra resuming) is corrected then. Nothing
is applied twice: every fix is a difference to a value read in the same quiet window.
Cost: O(months of the UMKM) for its own rows, O(UMKMs of a (sektor, kota) pair) for a pair cell,
O(flags of the year) for a flagged count: fine for a repair after a fault, see README "Known
limits" at national scale.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from db import financial_logs as fl
from db import umkm_profiles, write_intents
from db.drivers.cassandra import Cassandra, Row
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.maintenance import verification_repair
from db.maintenance.rebuild import fix_quarters, quarter_rows
from db.write_intents import Intent
from db.writes import aggregates, umkm_counts
from db.writes.aggregates import Contribution

# UMKMs repaired per round at most (a long outage leaves many; the next rounds take the rest).
MAX_UMKMS = 256
UMKM_CONCURRENCY = 8

Snapshot = Callable[[], Awaitable[dict[uuid.UUID, Intent]]]
Guard = Callable[[], Awaitable[bool]]


class LeaseLost(RuntimeError):
    """Another process holds the reconciler lease now: stop before changing anything else."""


@dataclass
class RepairReport:
    intents: int = 0  # open intents old enough to repair
    closed: list[Intent] = field(default_factory=list)  # repaired, verified: marked done
    tasks_fixed: int = 0
    rows_recounted: int = 0
    summaries_fixed: int = 0
    counted_rows_fixed: int = 0
    quarter_cells_fixed: int = 0
    pair_cells_fixed: int = 0
    sector_cells_fixed: int = 0
    region_cells_fixed: int = 0
    count_cells_fixed: int = 0
    flag_cells_fixed: int = 0
    busy_cells: int = 0  # left for the next round: a write was moving them

    @property
    def fixed(self) -> int:
        return (
            self.tasks_fixed
            + self.rows_recounted
            + self.summaries_fixed
            + self.counted_rows_fixed
            + self.quarter_cells_fixed
            + self.pair_cells_fixed
            + self.sector_cells_fixed
            + self.region_cells_fixed
            + self.count_cells_fixed
            + self.flag_cells_fixed
        )


@dataclass
class _Plan:
    """The cells to set, and which UMKMs' intents named each (to close or keep them)."""

    pairs: defaultdict[tuple[str, str, int], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )
    sectors: defaultdict[tuple[str, int], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )
    regions: defaultdict[tuple[str, int], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )
    counts: set[tuple[str, str]] = field(default_factory=set)
    flag_years: set[int] = field(default_factory=set)
    cause: defaultdict[Hashable, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    changed: set[uuid.UUID] = field(default_factory=set)  # a fix was needed: verify next round
    busy: set[uuid.UUID] = field(default_factory=set)  # a cell was skipped: repair next round
    busy_pairs: set[tuple[str, int, str, int]] = field(default_factory=set)

    def month(self, u: uuid.UUID, sektor: str, kota: str, tahun: int, bulan: int) -> None:
        self.pairs[(sektor, kota, tahun)].add(bulan)
        self.sectors[(sektor, tahun)].add(bulan)
        self.regions[(kota, tahun)].add(bulan)
        for key in (("p", sektor, tahun, kota, bulan), ("s", sektor, tahun, bulan)):
            self.cause[key].add(u)
        self.cause[("r", kota, tahun, bulan)].add(u)

    def count(self, u: uuid.UUID, scope: str, name: str | None) -> None:
        if name is not None:
            self.counts.add((scope, name))
            self.cause[("c", scope, name)].add(u)

    def flags(self, u: uuid.UUID, tahun: int) -> None:
        self.flag_years.add(tahun)
        self.cause[("f", tahun)].add(u)

    def fixed(self, key: Hashable) -> None:
        self.changed |= self.cause[key]

    def skipped(self, key: Hashable) -> None:
        self.busy |= self.cause[key]


@dataclass
class _Blockers:
    """Intents that may be moving cells during a phase's reads."""

    intents: list[Intent]

    @classmethod
    def of(
        cls,
        before: dict[uuid.UUID, Intent],
        after: dict[uuid.UUID, Intent],
        at_start: Iterable[Intent],
        own: set[uuid.UUID],
    ) -> _Blockers:
        found = {k: i for k, i in before.items() if not i.done}
        found.update({k: i for k, i in after.items() if k not in before})
        found.update({i.intent_id: i for i in at_start})
        return cls([i for k, i in found.items() if k not in own])

    def umkm(self, u: uuid.UUID) -> bool:
        return any(i.umkm_id == u for i in self.intents)

    def pair(self, s: str, t: int, k: str, b: int) -> bool:
        return any(i.touches_pair(s, t, k, b) for i in self.intents)

    def sector(self, s: str, t: int, b: int) -> bool:
        return any(i.touches_sector(s, t, b) for i in self.intents)

    def region(self, k: str, t: int, b: int) -> bool:
        return any(i.touches_region(k, t, b) for i in self.intents)

    def count(self, scope: str, name: str) -> bool:
        return any(i.touches_count(scope, name) for i in self.intents)

    def flags(self, tahun: int) -> bool:
        return any(i.touches_flags(tahun) for i in self.intents)


class _Round:
    def __init__(
        self,
        dbs: Databases,
        work: dict[uuid.UUID, list[Intent]],
        others: list[Intent],
        snapshot: Snapshot,
        guard: Guard,
        report: RepairReport,
    ) -> None:
        self.dbs, self.cass = dbs, dbs.cassandra
        self.work, self.others = work, others
        self.own = {i.intent_id for intents in work.values() for i in intents}
        self.snapshot, self.guard, self.report = snapshot, guard, report
        self.plan = _Plan()
        # Every open intent naming a pair: its UMKM's months may be counted there.
        self.named: defaultdict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
        for i in [*others, *(i for intents in work.values() for i in intents)]:
            for p in i.pairs:
                self.named[p].add(i.umkm_id)

    async def _apply(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        if not statements:
            return
        if not await self.guard():
            raise LeaseLost("the reconciler lease moved to another process")
        await asyncio.gather(*(self.cass.execute(cql, p) for cql, p in statements))

    async def _window(
        self, reads: Callable[[], Awaitable[None]]
    ) -> _Blockers:  # the reads run between two snapshots
        before = await self.snapshot()
        await reads()
        after = await self.snapshot()
        return _Blockers.of(before, after, self.others, self.own)

    # -- phase A ------------------------------------------------------------------------------

    async def umkm(self, u: uuid.UUID, intents: list[Intent]) -> None:
        cass, plan = self.cass, self.plan
        for i in intents:
            if i.kind == write_intents.FLAG and i.tahun is not None:
                plan.flags(u, i.tahun)  # phase E; a flag moves none of the cells below
        if not _moves_rows(intents):
            return
        if any(i.kind == write_intents.UMKM for i in intents):
            v = await verification_repair.repair_umkm(self.dbs, u)
            fixed = v.tasks_created + v.tasks_assigned + v.decisions_finished + v.tasks_aligned
            self.report.tasks_fixed += fixed
            if fixed:
                plan.changed.add(u)
        doc = await umkm_profiles.find_by_id(self.dbs.mongo, u)
        rows = await _rows(cass, u)
        every_month = any(i.kind == write_intents.UMKM for i in intents)
        months = {(r["tahun"], r["bulan"]) for r in rows}
        for i in intents:
            named = months if i.kind == write_intents.UMKM else {(i.tahun, i.bulan)}
            for s, k in i.pairs:
                for t, b in named:
                    if t is not None and b is not None:
                        plan.month(u, s, k, t, b)
        for row in rows:
            month_intents = [
                i
                for i in intents
                if i.kind == write_intents.UMKM
                or (
                    i.kind == write_intents.LOG
                    and (i.tahun, i.bulan) == (row["tahun"], row["bulan"])
                )
            ]
            if doc is None or not month_intents:
                continue  # a month no intent names is not this repair's business
            have, want = aggregates.counted(row), aggregates.desired(doc, row["omzet"])
            await self._name(intents, month_intents[0], [have, want], ())
            for c in (have, want):
                if c is not None:
                    plan.month(u, c.sektor, c.kota, row["tahun"], row["bulan"])
            _, recounted, _ = await aggregates.sync_row(cass, doc, row, apply=False)
            if recounted:
                self.report.rows_recounted += 1
                plan.changed.add(u)
        if doc is not None and doc.get("summary_terakhir") != await aggregates.refresh_summary(
            self.dbs, u
        ):
            self.report.summaries_fixed += 1
            plan.changed.add(u)
        if every_month:
            await self._counts(u, doc, intents)

    async def _name(
        self,
        intents: list[Intent],
        target: Intent,
        contributions: list[Contribution | None],
        statuses: Iterable[str],
    ) -> None:
        """Adds cells to `target` before they change, unless an intent names them already."""
        known = {p for i in intents for p in i.pairs}
        extra = write_intents.pairs_of(contributions) - known
        more = set(statuses) - {s for i in intents for s in i.statuses}
        if extra or more:
            widened = await write_intents.widen(self.cass, target, extra, more)
            intents[intents.index(target)] = widened

    async def _counts(self, u: uuid.UUID, doc: MongoDoc | None, intents: list[Intent]) -> None:
        have = (await umkm_counts.counted_rows(self.cass, [u])).get(u, umkm_counts.NOTHING)
        want = umkm_counts.counted_of(doc)
        umkm = next(i for i in intents if i.kind == write_intents.UMKM)
        pairs = [c for c in (have, want) if c.sektor is not None and c.kota is not None]
        statuses = [c.status for c in (have, want) if c.status is not None]
        await self._name(
            intents, umkm, [Contribution(0, c.sektor or "", c.kota or "") for c in pairs], statuses
        )
        for i in intents:
            for st in i.statuses:
                self.plan.count(u, "status", st)
            for s, k in i.pairs:
                self.plan.count(u, "sektor", s)
                self.plan.count(u, "kota", k)
        for c in (have, want):
            for scope, name in zip(umkm_counts.SCOPES, c, strict=True):
                self.plan.count(u, scope, name)
        if have != want:
            await umkm_counts.sync(self.dbs, u, apply=False)
            self.report.counted_rows_fixed += 1
            self.plan.changed.add(u)

    # -- phase B: quarter totals and pair cells -------------------------------------------------

    async def quarters_and_pairs(self) -> None:
        plan = self.plan
        own_rows: dict[uuid.UUID, list[Row]] = {}
        quarters: dict[Any, tuple[int, int]] = {}
        exact: dict[tuple[str, str, int], dict[int, list[int]]] = {}
        current: dict[tuple[str, str, int], dict[int, tuple[int, int]]] = {}

        async def reads() -> None:
            ids = [u for u, intents in self.work.items() if _moves_rows(intents)]
            found = await asyncio.gather(*(_rows(self.cass, u) for u in ids))
            own_rows.update(zip(ids, found, strict=True))
            by_umkm = await fl.years_of(self.cass, ids)  # emptied years keep quarter rows too
            years = sorted({y for ys in by_umkm.values() for y in ys})
            quarters.update(await quarter_rows(self.cass, ids, years))
            keys = list(plan.pairs)
            states = await asyncio.gather(*(self._pair_state(key) for key in keys))
            for key, (want, have) in zip(keys, states, strict=True):
                exact[key], current[key] = want, have

        blockers = await self._window(reads)
        if not await self.guard():
            raise LeaseLost("the reconciler lease moved to another process")
        for u, rows in own_rows.items():
            if blockers.umkm(u):
                plan.busy.add(u)
                self.report.busy_cells += 1
                continue
            n = await fix_quarters(self.cass, u, rows, quarters)
            if n:
                self.report.quarter_cells_fixed += n
                plan.changed.add(u)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for (s, k, t), months in plan.pairs.items():
            for b in sorted(months):
                key = ("p", s, t, k, b)
                if blockers.pair(s, t, k, b):
                    plan.skipped(key)
                    plan.busy_pairs.add((s, t, k, b))
                    self.report.busy_cells += 1
                    continue
                want = exact[(s, k, t)].get(b, [0, 0])
                have = current[(s, k, t)].get(b, (0, 0))
                if (want[0], want[1]) != have:
                    statements.append(
                        (aggregates.PAIR_ADD, (want[0] - have[0], want[1] - have[1], s, t, k, b))
                    )
                    plan.fixed(key)
        await self._apply(statements)
        self.report.pair_cells_fixed += len(statements)

    async def _pair_state(
        self, key: tuple[str, str, int]
    ) -> tuple[dict[int, list[int]], dict[int, tuple[int, int]]]:
        s, k, t = key
        months = self.plan.pairs[key]
        members = set(self.named[(s, k)])
        cursor = self.dbs.mongo[umkm_profiles.COLLECTION].find(
            {"sektor": s, "wilayah.kota": k}, {"_id": 1}
        )
        members |= {d["_id"] async for d in cursor}
        logs = await fl.logs_in(self.cass, sorted(members), [t])
        want: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for rows in logs.values():
            for r in rows:
                c = aggregates.counted(r)
                if c is not None and (c.sektor, c.kota) == (s, k) and r["bulan"] in months:
                    want[r["bulan"]][0] += c.omzet
                    want[r["bulan"]][1] += 1
        rows = await self.cass.execute(
            "SELECT bulan, total_omzet, jumlah_umkm FROM dashboard_sector_region_stats "
            "WHERE sektor = ? AND tahun = ? AND kota = ?",
            (s, t, k),
        )
        have = {r["bulan"]: (r["total_omzet"] or 0, r["jumlah_umkm"] or 0) for r in rows}
        return want, have

    # -- phase C: sector and region cells from the pair cells ---------------------------------

    async def sectors_and_regions(self) -> None:
        plan, cass = self.plan, self.cass
        sector_have: dict[tuple[str, int], dict[int, tuple[int, int]]] = {}
        sector_want: dict[tuple[str, int], dict[int, list[int]]] = {}
        region_have: dict[tuple[str, int], dict[int, tuple[int, int]]] = {}
        region_want: dict[tuple[str, int], dict[int, list[int]]] = {}

        async def sector(key: tuple[str, int]) -> None:
            s, t = key
            own, pairs = await asyncio.gather(
                cass.execute(
                    "SELECT bulan, total_omzet, total_umkm FROM dashboard_sector_stats "
                    "WHERE sektor = ? AND tahun = ?",
                    (s, t),
                ),
                cass.execute(
                    "SELECT bulan, total_omzet, jumlah_umkm FROM dashboard_sector_region_stats "
                    "WHERE sektor = ? AND tahun = ?",
                    (s, t),
                ),
            )
            sector_have[key] = {
                r["bulan"]: (r["total_omzet"] or 0, r["total_umkm"] or 0) for r in own
            }
            sector_want[key] = _sum_by_month(pairs)

        async def region(key: tuple[str, int], sectors: list[str]) -> None:
            k, t = key
            own = await cass.execute(
                "SELECT bulan, total_omzet, umkm_aktif FROM dashboard_region_stats "
                "WHERE kota = ? AND tahun = ?",
                (k, t),
            )
            chunks = [sectors[i : i + fl.MAX_IN] for i in range(0, len(sectors), fl.MAX_IN)]
            pages = await cass.execute_concurrent(
                "SELECT bulan, total_omzet, jumlah_umkm FROM dashboard_sector_region_stats "
                "WHERE sektor IN ? AND tahun = ? AND kota = ?",
                [(chunk, t, k) for chunk in chunks],
            )
            region_have[key] = {
                r["bulan"]: (r["total_omzet"] or 0, r["umkm_aktif"] or 0) for r in own
            }
            region_want[key] = _sum_by_month([r for page in pages for r in page])

        years = sorted({t for _, t in plan.regions})
        listed = await asyncio.gather(*(_sectors(cass, t) for t in years))
        known = dict(zip(years, listed, strict=True))
        for s, _, t in plan.pairs:
            known.setdefault(t, set()).add(s)

        async def reads() -> None:
            await asyncio.gather(
                *(sector(key) for key in plan.sectors),
                *(region(key, sorted(known.get(key[1], set()))) for key in plan.regions),
            )

        blockers = await self._window(reads)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        self.report.sector_cells_fixed += self._derived(
            "s", plan.sectors, sector_have, sector_want, blockers, statements
        )
        self.report.region_cells_fixed += self._derived(
            "r", plan.regions, region_have, region_want, blockers, statements
        )
        await self._apply(statements)

    def _derived(
        self,
        kind: str,
        cells: dict[tuple[str, int], set[int]],
        haves: dict[tuple[str, int], dict[int, tuple[int, int]]],
        wants: dict[tuple[str, int], dict[int, list[int]]],
        blockers: _Blockers,
        statements: list[tuple[str, tuple[Any, ...]]],
    ) -> int:
        """Sector ("s") or region ("r") cells := the sum of their pair cells, unless a write or
        a skipped pair cell is in the way; returns how many needed a fix."""
        plan, fixed = self.plan, 0
        sector = kind == "s"
        cql = aggregates.SECTOR_ADD if sector else aggregates.REGION_ADD
        dimension = "sektor" if sector else "kota"
        for (name, t), months in cells.items():
            for b in sorted(months):
                key = (kind, name, t, b)
                moving = blockers.sector(name, t, b) if sector else blockers.region(name, t, b)
                skipped_pair = any(
                    p[0 if sector else 2] == name and p[1] == t and p[3] == b
                    for p in plan.busy_pairs
                )
                if moving or skipped_pair:
                    plan.skipped(key)
                    self.report.busy_cells += 1
                    continue
                want = wants[(name, t)].get(b, [0, 0])
                have = haves[(name, t)].get(b, (0, 0))
                if (want[0], want[1]) != have:
                    statements.append((cql, (want[0] - have[0], want[1] - have[1], name, t, b)))
                    plan.fixed(key)
                    fixed += 1
                if want[1] > 0:
                    statements.append((aggregates.KEY_ADD, (dimension, t, name)))
        return fixed

    # -- phase D: profile counts --------------------------------------------------------------

    async def counts(self) -> None:
        plan = self.plan
        if not plan.counts:
            return
        keys = sorted(plan.counts)
        exact: dict[tuple[str, str], int] = {}
        have: dict[tuple[str, str], int] = {}

        async def reads() -> None:
            profiles = self.dbs.mongo[umkm_profiles.COLLECTION]
            found = await asyncio.gather(
                *(profiles.count_documents(_count_query(scope, name)) for scope, name in keys)
            )
            exact.update(zip(keys, found, strict=True))
            rows = await asyncio.gather(
                *(
                    self.cass.execute(
                        "SELECT n FROM umkm_counts WHERE scope = ? AND name = ?", (scope, name)
                    )
                    for scope, name in keys
                )
            )
            have.update({k: (r[0]["n"] or 0) if r else 0 for k, r in zip(keys, rows, strict=True)})

        blockers = await self._window(reads)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for scope, name in keys:
            key = ("c", scope, name)
            if blockers.count(scope, name):
                plan.skipped(key)
                self.report.busy_cells += 1
                continue
            if exact[(scope, name)] != have[(scope, name)]:
                d = exact[(scope, name)] - have[(scope, name)]
                statements.append((umkm_counts.COUNT_ADD, (d, scope, name)))
                plan.fixed(key)
        await self._apply(statements)
        self.report.count_cells_fixed += len(statements)

    # -- phase E: flagged counts ------------------------------------------------------------

    async def flags(self) -> None:
        plan = self.plan
        if not plan.flag_years:
            return
        years = sorted(plan.flag_years)
        exact: dict[int, int] = {}
        have: dict[int, int] = {}

        async def reads() -> None:
            found, current = await asyncio.gather(
                asyncio.gather(*(fl.count_flagged_rows(self.cass, t) for t in years)),
                asyncio.gather(*(fl.flagged_count(self.cass, t) for t in years)),
            )
            exact.update(zip(years, found, strict=True))
            have.update(zip(years, current, strict=True))

        blockers = await self._window(reads)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for t in years:
            key = ("f", t)
            if blockers.flags(t):
                plan.skipped(key)
                self.report.busy_cells += 1
                continue
            if exact[t] != have[t]:
                statements.append((fl.FLAGGED_ADD, (exact[t] - have[t], t)))
                plan.fixed(key)
        await self._apply(statements)
        self.report.flag_cells_fixed += len(statements)


def _moves_rows(intents: list[Intent]) -> bool:
    """Whether the intents may have moved a row's counted_*, aggregate or profile count cells
    (LOG, UMKM); FLAG intents move only the year's flagged count (phase E)."""
    return any(i.kind != write_intents.FLAG for i in intents)


def _sum_by_month(rows: list[Row]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        out[r["bulan"]][0] += r["total_omzet"] or 0
        out[r["bulan"]][1] += r["jumlah_umkm"] or 0
    return out


async def _sectors(cass: Cassandra, tahun: int) -> set[str]:
    rows = await cass.execute(
        "SELECT name FROM dashboard_keys WHERE dimension = 'sektor' AND tahun = ?", (tahun,)
    )
    return {r["name"] for r in rows}


async def _rows(cass: Cassandra, u: uuid.UUID) -> list[Row]:
    years = await fl.years(cass, u)
    parts = await asyncio.gather(*(fl.partition(cass, u, y) for y in years))
    return [r for rows in parts for r in rows]


def _count_query(scope: str, name: str) -> MongoDoc:
    """The profiles umkm_counts counts under (scope, name): umkm_counts.counted_of as a query."""
    live: MongoDoc = {"is_deleted": {"$ne": True}}
    status = "legalitas.status_verifikasi"
    if scope == "status":
        if name == umkm_counts.NO_STATUS:
            return {**live, status: {"$in": [None, ""]}}
        return {**live, status: name}
    field_name = "sektor" if scope == "sektor" else "wilayah.kota"
    return {**live, status: "VERIFIED", field_name: name}


async def repair(
    dbs: Databases,
    stale: list[Intent],
    open_intents: list[Intent],
    snapshot: Snapshot,
    guard: Guard,
) -> RepairReport:
    """One round: repairs the UMKMs of `stale` (open intents old enough) that no other open
    intent names, and returns which intents can be marked done (`closed`)."""
    report = RepairReport(intents=len(stale))
    stale_ids = {i.intent_id for i in stale}
    busy = {i.umkm_id for i in open_intents if i.intent_id not in stale_ids}
    work: dict[uuid.UUID, list[Intent]] = defaultdict(list)
    for i in sorted(stale, key=lambda i: i.created):
        if i.umkm_id not in busy and (i.umkm_id in work or len(work) < MAX_UMKMS):
            work[i.umkm_id].append(i)
    if not work:
        return report
    chosen = {i.intent_id for intents in work.values() for i in intents}
    others = [i for i in open_intents if i.intent_id not in chosen]
    run = _Round(dbs, work, others, snapshot, guard, report)
    gate = asyncio.Semaphore(UMKM_CONCURRENCY)

    async def one(u: uuid.UUID, intents: list[Intent]) -> None:
        async with gate:
            await run.umkm(u, intents)

    await asyncio.gather(*(one(u, intents) for u, intents in work.items()))
    await run.quarters_and_pairs()
    await run.sectors_and_regions()
    await run.counts()
    await run.flags()
    for u, intents in work.items():
        if u not in run.plan.busy and u not in run.plan.changed:
            report.closed.extend(intents)
    return report
