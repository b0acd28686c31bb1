"""`sigma-graphql clean-exports`: deletes export jobs past their expiry and their files, and
files whose job is gone (deleted, or removed by the optional TTL index of real MongoDB) or
uploads a killed process cut short (chunks without a file document, older than their job).

Expiry is decided in code (`expires_at`, SIGMA_EXPORT_RETENTION_S after creation): downloads and
lists refuse expired jobs whether or not this has run; this only frees the space. Idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from db import export_files, export_jobs
from db.drivers.handles import Databases


@dataclass
class CleanReport:
    jobs_deleted: int = 0
    files_deleted: int = 0
    orphan_files_deleted: int = 0

    def __str__(self) -> str:
        return (
            f"expired jobs deleted: {self.jobs_deleted}, their files: {self.files_deleted}, "
            f"files without a job: {self.orphan_files_deleted}"
        )


async def clean_exports(dbs: Databases) -> CleanReport:
    db = dbs.mongo
    report = CleanReport()
    now = export_jobs.now_utc()
    while batch := await export_jobs.expired(db, now):
        for job in batch:
            if job.get("file_id") is not None and await export_files.delete(db, job["file_id"]):
                report.files_deleted += 1
            await export_jobs.delete(db, job["_id"])
            report.jobs_deleted += 1
    # Files (and chunks of cut uploads) whose job no longer exists. A running job records its
    # file id before uploading, so its chunks are never taken for an orphan's.
    file_ids = {fid: job_id for fid, job_id in await export_files.file_jobs(db)}
    for fid in await export_files.chunk_file_ids(db):
        file_ids.setdefault(fid, None)
    in_use = await export_jobs.files_in_use(db, list(file_ids))
    for fid in file_ids:
        if fid not in in_use:
            await export_files.delete(db, fid)
            report.orphan_files_deleted += 1
    return report
