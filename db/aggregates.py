"""Maintenance of the pre-aggregated tables (owned by the financial issue, #5).

Interface used by other domains:
- `on_umkm_changed(dbs, before, after)`: call after every write that changes an UMKM's
  status, is_deleted, sektor, wilayah.kota or nama_usaha (before = the document before the write,
  None on create; after = the document as written). It moves the UMKM's months into or out of the
  aggregates and re-denormalises the log rows.
"""

from __future__ import annotations

from db.handles import Databases
from db.mongo import MongoDoc


async def on_umkm_changed(dbs: Databases, before: MongoDoc | None, after: MongoDoc) -> None:
    # Placeholder: the financial issue (#5) implements the aggregate moves.
    del dbs, before, after
