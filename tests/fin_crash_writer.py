"""One financial write in a process of its own (the kill-between-writes test runs it).

With SIGMA_TEST_CRASH_AT=after_log_row the write dies like a killed process right after its
first step (the Cassandra log row), before the counters and MongoDB are touched.
With SIGMA_TEST_CRASH_AT=after_counted_row, `count` (the profile counts' half of the UMKM hook)
dies right after recording the UMKM's contribution, before the counters.
Usage: python -m tests.fin_crash_writer submit|delete UMKM_ID TAHUN BULAN [OMZET]
       python -m tests.fin_crash_writer count UMKM_ID
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from db import financial_writes, umkm_counts, umkm_profiles
from db.handles import Databases
from sigma_graphql.settings import load_settings


async def main(argv: list[str]) -> int:
    op, raw_id = argv[0], uuid.UUID(argv[1])
    dbs = Databases.open(load_settings())
    try:
        if op == "count":
            await umkm_counts.sync(dbs, raw_id)
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
        else:
            await financial_writes.delete(dbs, raw_id, tahun, bulan)
    finally:
        await dbs.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
