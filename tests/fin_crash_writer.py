"""One write in a process of its own (the kill-between-writes tests run it).

With SIGMA_TEST_CRASH_AT=after_log_row the write dies like a killed process right after its
first step (the Cassandra log row), before the counters and MongoDB are touched.
With SIGMA_TEST_CRASH_AT=after_counted_row, `count` (the profile counts' half of the UMKM hook)
dies right after recording the UMKM's contribution, before the counters.
With SIGMA_TEST_CRASH_AT=after_profile_write, `approve` / `resubmit` (the UMKM write path of the
API, db/writes/umkm.py) die right after the MongoDB write, before the verification task,
the aggregate hook and the counts.
With SIGMA_TEST_CRASH_AT=after_flag_row, `flag` / `unflag` / `delete` (of a flagged month) die
right after the LWT that flipped is_flagged, before the year's flagged count moves.
Usage: python -m tests.fin_crash_writer submit|delete|flag|unflag UMKM_ID TAHUN BULAN [OMZET]
       python -m tests.fin_crash_writer count UMKM_ID
       python -m tests.fin_crash_writer approve|resubmit UMKM_ID VIEWER_ID
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from types import SimpleNamespace

import strawberry
from starlette.requests import HTTPConnection

from db import umkm_profiles
from db.drivers.handles import Databases
from db.writes import financial as financial_writes
from db.writes import umkm_counts
from resolvers import verification
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.settings import Settings, load_settings
from sigma_graphql.core.viewer import Audience, Viewer
from sigma_graphql.request.context import Context, Services


def _info(settings: Settings, dbs: Databases, audience: Audience, user_id: uuid.UUID) -> object:
    """What a resolver reads of `info`: the request context of that viewer."""
    request = HTTPConnection({"type": "http", "method": "POST", "path": "/", "headers": []})
    ctx = Context(
        request=request,
        response=None,
        settings=settings,
        dbs=dbs,
        services=Services(),
        viewer=Viewer(audience=audience, user_id=user_id),
    )
    return SimpleNamespace(context=ctx)


async def main(argv: list[str]) -> int:
    op, raw_id = argv[0], uuid.UUID(argv[1])
    settings = load_settings()
    dbs = Databases.open(settings)
    try:
        if op == "count":
            await umkm_counts.sync(dbs, raw_id)
            return 0
        if op in ("approve", "resubmit"):
            gid = strawberry.ID(str(raw_id))
            if op == "approve":
                info = _info(settings, dbs, Audience.PEJABAT, uuid.UUID(argv[2]))
                await verification.approve_umkm(info, gid, None)  # type: ignore[arg-type]
            else:
                info = _info(settings, dbs, Audience.UMKM_OWNER, uuid.UUID(argv[2]))
                await verification.resubmit_umkm(info, gid)  # type: ignore[arg-type]
            return 0
        tahun, bulan = int(argv[2]), int(argv[3])
        if op == "submit":
            doc = await umkm_profiles.find_by_id(dbs.mongo, raw_id)
            assert doc is not None
            await financial_writes.submit(
                dbs,
                doc,
                tahun=tahun,
                bulan=bulan,
                omzet=int(argv[4]),
                jumlah_karyawan=1,
                catatan=None,
                by=None,
            )
        elif op in ("flag", "unflag"):
            doc = await umkm_profiles.find_by_id(dbs.mongo, raw_id)
            assert doc is not None
            if op == "flag":
                reason = "omzet tidak wajar (uji)"
                await financial_writes.flag(
                    dbs,
                    PubSub(),
                    doc,
                    tahun=tahun,
                    bulan=bulan,
                    reason=reason,
                    by=None,
                    by_name=None,
                )
            else:
                await financial_writes.unflag(
                    dbs, PubSub(), doc, tahun=tahun, bulan=bulan, by_name=None
                )
        else:
            await financial_writes.delete(dbs, raw_id, tahun, bulan)
    finally:
        await dbs.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
