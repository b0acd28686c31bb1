"""Counts of UMKM profiles for officialDashboard and publicStats, maintained on write.

`umkm_counts` ((scope), name) holds counters, so the dashboards read two small partitions
instead of counting or distinct-scanning the profiles at national scale:
- scope 'status': live (not deleted) UMKMs per legalitas.status_verifikasi; their sum is the
  number of live UMKMs;
- scope 'sektor' / 'kota': VERIFIED, live UMKMs per sektor / kota; the names whose count is
  above zero are the sectors / cities with a VERIFIED UMKM.

`umkm_counted` records, per UMKM, the contribution it currently makes (like counted_* on the
log rows, see db/writes/aggregates.py), which makes the maintenance idempotent and repairable. Order
of `sync`: (1) read umkm_counted, then the profile; (2) an LWT on umkm_counted naming the version
read, recording the profile's contribution under a new version; (3) the counter deltas.
- A crash after (2) leaves the counters one change behind (never ahead); a retry finds
  counted == desired and applies nothing; `sigma-graphql rebuild-aggregates` sets everything
  exact (db/maintenance/rebuild.py).
- The profile is read after umkm_counted and re-read when the LWT is lost, and the version is
  bumped even when nothing changed: a hook that read an older profile can then never record it
  over what a later hook recorded (its LWT fails, it re-reads, it finds the newer profile).
- O(1) statements per call: 2 reads, 1 LWT, at most 6 counter updates (in one batch of
  concurrent statements).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any, NamedTuple

from db import umkm_profiles
from db.drivers.cassandra import Cassandra, Row
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes.crash import crash_point

SCOPES = ("status", "sektor", "kota")
MAX_ATTEMPTS = 8
PROJECTION = {"is_deleted": 1, "legalitas.status_verifikasi": 1, "sektor": 1, "wilayah.kota": 1}
# The status of a live profile without one (never written by the application; imported data).
NO_STATUS = "-"

COUNT_ADD = "UPDATE umkm_counts SET n = n + ? WHERE scope = ? AND name = ?"
COUNTED_READ = "SELECT status, sektor, kota, version FROM umkm_counted WHERE umkm_id = ?"
COUNTED_SET = (
    "UPDATE umkm_counted SET status = ?, sektor = ?, kota = ?, version = ? "
    "WHERE umkm_id = ? IF version = ?"
)
COUNTED_NEW = (
    "INSERT INTO umkm_counted (umkm_id, status, sektor, kota, version) VALUES (?, ?, ?, ?, ?) "
    "IF NOT EXISTS"
)
COUNTED_PUT = (
    "INSERT INTO umkm_counted (umkm_id, status, sektor, kota, version) VALUES (?, ?, ?, ?, ?)"
)


class Counted(NamedTuple):
    status: str | None  # None: deleted, or no profile
    sektor: str | None  # VERIFIED and live only
    kota: str | None


NOTHING = Counted(None, None, None)


class ConcurrentCountError(RuntimeError):
    """The UMKM kept changing under us; the caller may retry."""


def counted_of(doc: MongoDoc | None) -> Counted:
    """The contribution a profile should make."""
    if doc is None or doc.get("is_deleted"):
        return NOTHING
    status = (doc.get("legalitas") or {}).get("status_verifikasi") or NO_STATUS
    if status != "VERIFIED":
        return Counted(status, None, None)
    return Counted(status, doc.get("sektor"), (doc.get("wilayah") or {}).get("kota"))


def counted_row(row: Row | None) -> Counted:
    if row is None:
        return NOTHING
    return Counted(row.get("status"), row.get("sektor"), row.get("kota"))


def add(totals: dict[tuple[str, str], int], c: Counted, sign: int = 1) -> None:
    """Adds (or with sign -1 removes) one contribution to {(scope, name): count}."""
    for scope, name in zip(SCOPES, c, strict=True):
        if name is not None:
            totals[(scope, name)] = totals.get((scope, name), 0) + sign


def deltas(old: Counted, new: Counted) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    add(out, old, -1)
    add(out, new)
    return {k: v for k, v in out.items() if v}


async def sync(dbs: Databases, umkm_id: uuid.UUID, *, apply: bool = True) -> bool:
    """Brings the counts in line with the UMKM's profile as it is now; True if they moved.
    apply=False records the contribution only (a repair that recomputes the counters)."""
    cass = dbs.cassandra
    profiles = dbs.mongo[umkm_profiles.COLLECTION]
    for _ in range(MAX_ATTEMPTS):
        rows = await cass.execute(COUNTED_READ, (umkm_id,))
        doc = await profiles.find_one({"_id": umkm_id}, PROJECTION)  # after the row: see above
        row = rows[0] if rows else None
        have, want = counted_row(row), counted_of(doc)
        version = uuid.uuid4()
        if row is None:
            result = await cass.execute(COUNTED_NEW, (umkm_id, *want, version))
        else:
            result = await cass.execute(COUNTED_SET, (*want, version, umkm_id, row["version"]))
        if not result[0]["[applied]"]:
            continue
        crash_point("after_counted_row")
        if apply:
            await add_deltas(cass, deltas(have, want))
        return have != want
    raise ConcurrentCountError(f"UMKM {umkm_id} kept changing")


async def add_deltas(cass: Cassandra, changes: dict[tuple[str, str], int]) -> None:
    await asyncio.gather(
        *(cass.execute(COUNT_ADD, (d, scope, name)) for (scope, name), d in changes.items())
    )


async def read(cass: Cassandra, scopes: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """{scope: {name: count}} of the asked scopes, names counting nothing left out (counter rows
    outlive the UMKMs they counted). One statement over len(scopes) small partitions."""
    rows = await cass.execute(
        "SELECT scope, name, n FROM umkm_counts WHERE scope IN ?", (list(scopes),)
    )
    out: dict[str, dict[str, int]] = {s: {} for s in scopes}
    for r in rows:
        if (r["n"] or 0) > 0:
            out[r["scope"]][r["name"]] = r["n"]
    return out


async def counted_rows(cass: Cassandra, umkm_ids: list[uuid.UUID]) -> dict[uuid.UUID, Counted]:
    """umkm_counted of a batch of UMKMs (the rebuild): one multi-partition read."""
    if not umkm_ids:
        return {}
    rows = await cass.execute(
        "SELECT umkm_id, status, sektor, kota FROM umkm_counted WHERE umkm_id IN ?", (umkm_ids,)
    )
    return {r["umkm_id"]: counted_row(r) for r in rows}


async def put_counted(cass: Cassandra, umkm_id: uuid.UUID, c: Counted) -> None:
    """The rebuild's plain write (it runs while writes are quiet, and sets the counters after)."""
    await cass.execute(COUNTED_PUT, (umkm_id, *c, uuid.uuid4()))


async def fix_counters(cass: Cassandra, exact: dict[tuple[str, str], int]) -> int:
    """Sets every umkm_counts row to the exact value (read it, add the difference)."""
    rows = await cass.execute(
        "SELECT scope, name, n FROM umkm_counts WHERE scope IN ?", (list(SCOPES),)
    )
    current: dict[tuple[str, str], Any] = {(r["scope"], r["name"]): r["n"] or 0 for r in rows}
    fixes = {
        key: exact.get(key, 0) - current.get(key, 0)
        for key in set(current) | set(exact)
        if exact.get(key, 0) != current.get(key, 0)
    }
    await add_deltas(cass, fixes)
    return len(fixes)
