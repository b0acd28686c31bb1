"""The export worker of one API process (issue 18): runs export jobs in the background.

Every process runs one. It takes jobs with an atomic claim of their lease (db/export_jobs.py)
when startExport wakes it and every SIGMA_EXPORT_SCAN_INTERVAL_S, so a job queued on a process
that stopped, or RUNNING on one that was killed (its lease lapsed), is taken over by any process
that is up, including the same one restarted. A taken-over job runs again from the beginning
(its half-written file is deleted); after MAX_ATTEMPTS lapsed leases it is FAILED with the
reason. A clean shutdown gives its jobs back at once (no lapse to wait for).

Each job is one asyncio task writing a file on local disk (resolvers/export_runs.py), then
uploading it to GridFS (db/export_files.py), beside a heartbeat task that renews the lease and,
at most once per PROGRESS_INTERVAL_S, stores the progress and publishes the job for
exportJobUpdated. A heartbeat that finds the lease taken (this process was paused past it and
another took over) cancels the job here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from db import export_files, export_jobs
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.drivers.outages import unavailable_database
from resolvers.export_runs import (
    Refused,
    columns_of,
    content_type,
    file_name,
    job_viewer,
    write_export,
)
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.settings import Settings
from sigma_graphql.core.sheet_writers import open_writer

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0
# Jobs one process runs at once (each user has its own limit, SIGMA_EXPORT_MAX_RUNNING).
MAX_JOBS_PER_PROCESS = 4
# Tests only: a job holds (alive, lease renewed) after writing its first page, so a test can
# kill the process mid-job (tests/test_exports_restart.py).
HOLD_ENV = "SIGMA_TEST_EXPORT_HOLD_AFTER_FIRST_PAGE"


@dataclass
class _Progress:
    rows: int = 0
    fraction: float = 0.0
    pages: int = 0
    stored: tuple[int, float] = (0, 0.0)


class LeaseLost(Exception):
    """Another process holds the job now."""


class ExportWorker:
    def __init__(
        self, dbs: Databases, settings: Settings, pubsub: PubSub, wakeup: asyncio.Event
    ) -> None:
        self.dbs = dbs
        self.settings = settings
        self.pubsub = pubsub
        self.wakeup = wakeup
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tmpdir = Path(tempfile.gettempdir()) / "sigma-exports"
        self.jobs: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in (self._loop, *self.jobs.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------ taking jobs

    async def _run(self) -> None:
        while True:
            try:
                await self.scan()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if unavailable_database(exc) is None:
                    log.exception("export worker: scanning for jobs failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.settings.export_scan_interval_s)
            self.wakeup.clear()

    async def scan(self) -> None:
        db = self.dbs.mongo
        for doc in await export_jobs.fail_abandoned(db, export_jobs.now_utc()):
            log.warning("export %s failed: %s", doc["_id"], doc["error"])
            await self._ended(doc)
        while len(self.jobs) < MAX_JOBS_PER_PROCESS:
            job = await export_jobs.claim(
                db, self.id, self.settings.export_lease_s, export_jobs.now_utc()
            )
            if job is None:
                return
            if job["attempts"] > 1:
                log.warning("export %s: taken over (attempt %d)", job["_id"], job["attempts"])
            self.pubsub.publish(export_jobs.topic(job["_id"]), job)
            task = asyncio.get_running_loop().create_task(self._execute(job))
            self.jobs[job["_id"]] = task
            task.add_done_callback(self._forget(job["_id"]))

    def _forget(self, job_id: uuid.UUID) -> Callable[[asyncio.Task[None]], None]:
        def done(_: asyncio.Task[None]) -> None:
            self.jobs.pop(job_id, None)

        return done

    async def _ended(self, doc: MongoDoc) -> None:
        """A job reached SUCCEEDED or FAILED: its slot is free, its subscribers hear of it."""
        await export_jobs.release_slot(self.dbs.mongo, doc["owner_id"], doc["_id"])
        self.pubsub.publish(export_jobs.topic(doc["_id"]), doc)

    # ------------------------------------------------------------ running one

    async def _execute(self, job: MongoDoc) -> None:
        job_id = job["_id"]
        progress = _Progress()
        work = asyncio.current_task()
        assert work is not None
        beat = asyncio.get_running_loop().create_task(self._heartbeat(job_id, progress, work))
        path = self.tmpdir / f"sigma-export-{job_id}.{job['format'].lower()}"
        try:
            ended = await self._produce(job, progress, path)
        except asyncio.CancelledError:
            if beat.done() and isinstance(beat.exception(), LeaseLost):
                log.warning("export %s: lease taken by another process, stopped here", job_id)
                return
            # Shutdown: give the job back so a process that is up (or this one, restarted)
            # takes it at once.
            with contextlib.suppress(Exception):
                await asyncio.shield(export_jobs.release(self.dbs.mongo, job_id, self.id))
            raise
        except LeaseLost:
            log.warning("export %s: lease taken by another process, stopped here", job_id)
            ended = None
        except Refused as refused:
            ended = await export_jobs.fail(self.dbs.mongo, job_id, self.id, str(refused))
        except Exception as exc:
            down = unavailable_database(exc)
            if down is None:
                log.exception("export %s failed", job_id)
                reason = "the export failed because of a server error (logged)"
            else:
                reason = f"the database {down} did not answer; start the export again"
            try:
                ended = await export_jobs.fail(self.dbs.mongo, job_id, self.id, reason)
            except Exception:
                # The job stays RUNNING with a lease nobody renews: it is taken over later.
                log.exception("export %s: recording the failure failed", job_id)
                ended = None
        finally:
            beat.cancel()
            with contextlib.suppress(BaseException):
                await beat
            path.unlink(missing_ok=True)
        if ended is not None:
            await self._ended(ended)

    async def _produce(self, job: MongoDoc, progress: _Progress, path: Path) -> MongoDoc | None:
        db = self.dbs.mongo
        job_id = job["_id"]
        viewer = await job_viewer(self.dbs, job)
        if job.get("file_id") is not None:
            # The upload of an earlier attempt (cut short, or done but not recorded).
            await export_files.delete(db, job["file_id"])
        path.unlink(missing_ok=True)
        writer = open_writer(
            job["format"],
            str(path),
            columns_of(job),
            delimiter=job.get("delimiter") or ",",
            tmpdir=str(self.tmpdir),
        )
        hold = os.environ.get(HOLD_ENV) == "1"

        async def on_progress(rows: int, fraction: float) -> None:
            progress.rows, progress.fraction = rows, fraction
            progress.pages += 1
            if hold and progress.pages == 1:
                await self._store(job_id, progress)
                await asyncio.Event().wait()  # until the test kills this process

        try:
            rows = await write_export(self.dbs, job, viewer, writer, on_progress)
        finally:
            await asyncio.to_thread(writer.close)
        file_id = uuid.uuid4()
        if not await export_jobs.set_file(db, job_id, self.id, file_id):
            raise LeaseLost
        name = file_name(job)
        with path.open("rb") as source:
            size = await export_files.upload(
                db,
                file_id,
                name,
                source,
                job_id=job_id,
                content_type=content_type(job),
                expires_at=job["expires_at"],
            )
        done = await export_jobs.succeed(
            db, job_id, self.id, row_count=rows, file_name=name, file_size=size
        )
        if done is None:  # taken over meanwhile: the new holder writes its own file
            await export_files.delete(db, file_id)
        return done

    async def _store(self, job_id: uuid.UUID, progress: _Progress) -> MongoDoc | None:
        doc = await export_jobs.heartbeat(
            self.dbs.mongo,
            job_id,
            self.id,
            self.settings.export_lease_s,
            progress.fraction,
            progress.rows,
        )
        if doc is not None and (progress.rows, progress.fraction) != progress.stored:
            progress.stored = (progress.rows, progress.fraction)
            self.pubsub.publish(export_jobs.topic(job_id), doc)
        return doc

    async def _heartbeat(
        self, job_id: uuid.UUID, progress: _Progress, work: asyncio.Task[None]
    ) -> None:
        """Renews the lease well before it lapses; stores and publishes progress at most once
        per PROGRESS_INTERVAL_S."""
        interval = min(PROGRESS_INTERVAL_S, self.settings.export_lease_s / 3)
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                doc = await self._store(job_id, progress)
            except Exception as exc:
                if unavailable_database(exc) is None:
                    log.exception("export %s: heartbeat failed", job_id)
                if time.monotonic() - last_ok > self.settings.export_lease_s:
                    work.cancel()  # the lease has lapsed: another process may hold it now
                    raise LeaseLost from exc
                continue
            if doc is None:
                work.cancel()
                raise LeaseLost
            last_ok = time.monotonic()
