"""Export throughput and memory (issue 18): rows/s and peak RSS, CSV and XLSX.

Two paths, measured separately, each run in a fresh child process so its peak RSS (ru_maxrss)
is its own:

- `writer`: the file writers alone (sigma_graphql/core/sheet_writers.py) on generated monthly
  revenue rows (REVENUE_COLUMNS, N UMKMs x 24 months, written in pages of 100 UMKMs as the job
  does): no database. This is the path whose memory must stay flat in the number of rows.
- `job`: a whole MONTHLY_REVENUE export as the worker runs it (resolvers/export_runs.py:
  profiles from MongoDB in batches, their months from Cassandra, the writer, then the upload to
  GridFS), against a database seeded with `sigma-graphql seed --synthetic N`.

    python -m bench.exports writer --umkms 1000 10000
    python -m bench.exports job --database bench_exports --umkms 1000   # seeded beforehand

Database addresses come from the usual SIGMA_* variables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sigma_graphql.core.sheet_writers import Cell, open_writer

MONTHS = 24
PAGE_UMKMS = 100


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _writer_child(fmt: str, umkms: int) -> dict[str, Any]:
    from schema.types.exports import REVENUE_COLUMNS

    baseline = _peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"out.{fmt.lower()}")
        writer = open_writer(fmt, path, REVENUE_COLUMNS, delimiter=";", tmpdir=tmp)
        started, cpu = time.perf_counter(), time.process_time()
        rows = 0
        for first in range(0, umkms, PAGE_UMKMS):
            page: list[list[Cell]] = []
            for n in range(first, min(first + PAGE_UMKMS, umkms)):
                umkm_id = str(uuid.UUID(int=n + 1))
                for m in range(MONTHS):
                    tahun, bulan = 2024 + m // 12, m % 12 + 1
                    page.append(
                        [
                            umkm_id,
                            tahun,
                            bulan,
                            1_000_000 + (n * 7919 + m * 104_729) % 50_000_000,
                            1 + n % 20,
                            "catatan bulan ini" if m % 5 == 0 else None,
                            m % 17 == 0,
                            f"Usaha {n}",
                            "Kuliner",
                            "Kota Malang",
                            "Jawa Timur",
                        ]
                    )
            rows += writer.write_rows(page)
        writer.close()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        size = os.path.getsize(path)
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_s": cpu,
        "rows_per_s": rows / seconds,
        "file_mb": size / 1e6,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _peak_rss_mb(),
    }


async def _job_child(fmt: str, database: str) -> dict[str, Any]:
    from db import export_jobs, users
    from db.drivers.handles import Databases
    from db.export_files import delete
    from sigma_graphql.core.settings import load_settings
    from sigma_graphql.server.export_worker import ExportWorker

    settings = load_settings().with_overrides(mongo_db=database, cassandra_keyspace=database)
    dbs = Databases.open(settings)
    baseline = _peak_rss_mb()
    try:
        staff = await dbs.mongo["users"].find_one({"role": "PEJABAT"})
        if staff is None:  # the synthetic data set has owners only
            staff = users.new_user_doc(
                email="bench-exports@sigma-umkm.test",
                password_hash="!",  # never signs in
                role="PEJABAT",
                nama="Bench Exports",
            )
            await users.insert(dbs.mongo, staff)
        job = export_jobs.new_job_doc(
            owner_id=staff["_id"],
            kind="MONTHLY_REVENUE",
            fmt=fmt,
            delimiter=";",
            filter={},
            retention_s=3600,
        )
        await export_jobs.insert(dbs.mongo, job)
        from sigma_graphql.core.pubsub import PubSub

        worker = ExportWorker(dbs, settings, PubSub(), asyncio.Event())
        worker.tmpdir.mkdir(parents=True, exist_ok=True)
        claimed = await export_jobs.claim(
            dbs.mongo, worker.id, 60, export_jobs.now_utc(), job["_id"]
        )
        assert claimed is not None
        started, cpu = time.perf_counter(), time.process_time()
        await worker._execute(claimed)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        done = await export_jobs.find(dbs.mongo, job["_id"])
        assert done is not None and done["status"] == "SUCCEEDED", done
        await delete(dbs.mongo, done["file_id"])
        await export_jobs.delete(dbs.mongo, job["_id"])
        rows = int(done["row_count"])
        return {
            "rows": rows,
            "seconds": seconds,
            "cpu_s": cpu,
            "rows_per_s": rows / seconds,
            "file_mb": done["file_size"] / 1e6,
            "baseline_rss_mb": baseline,
            "peak_rss_mb": _peak_rss_mb(),
        }
    finally:
        await dbs.close()


def _child(argv: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.exports", "--child", *argv],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.exports")
    parser.add_argument("path", choices=["writer", "job"])
    parser.add_argument("--umkms", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--formats", nargs="+", default=["CSV", "XLSX"])
    parser.add_argument("--database", default="bench_exports")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fmt = args.formats[0]
        if args.path == "writer":
            result = _writer_child(fmt, args.umkms[0])
        else:
            result = asyncio.run(_job_child(fmt, args.database))
        print(json.dumps(result))
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"exports, path `{args.path}`, {stamp}, pid {os.getpid()}, {os.cpu_count()} cores")
    print("| format | rows | wall s | CPU s | rows/s (wall) | file MB | peak RSS MB (baseline) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for fmt in args.formats:
        for umkms in args.umkms if args.path == "writer" else [0]:
            argv = [args.path, "--formats", fmt, "--umkms", str(umkms), "--database", args.database]
            r = _child(argv)
            print(
                f"| {fmt} | {r['rows']:,} | {r['seconds']:.1f} | {r['cpu_s']:.1f} | "
                f"{r['rows_per_s']:,.0f} | "
                f"{r['file_mb']:.1f} | {r['peak_rss_mb']:.0f} ({r['baseline_rss_mb']:.0f}) |",
                flush=True,
            )


if __name__ == "__main__":
    main()
