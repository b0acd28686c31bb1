"""Repository of export jobs (issue 18): MongoDB `export_jobs` and `export_slots`.

Job document:
{_id: UUID, owner_id: UUID, kind, format, delimiter, filter: {...}, status: QUEUED | RUNNING |
 SUCCEEDED | FAILED, progress: 0..1, row_count, created_at, started_at, finished_at, expires_at,
 error: str | None, file_id: UUID | None (GridFS id, db/export_files.py), file_name, file_size,
 lease_owner: str | None, lease_until: datetime | None, attempts: int}

Who runs a job: the process holding its lease (`lease_owner`, `lease_until`), taken with one
atomic find-and-modify (`claim`) and renewed by that process's heartbeat. A job whose lease
lapsed (its process was killed or stopped) is claimed again by any process, and runs from the
beginning; after MAX_ATTEMPTS lapsed leases it is FAILED with the reason instead
(`fail_abandoned`), so no job stays RUNNING forever while any API process runs.

Running jobs per user: a user's job holds one of `export_slots` "<user>:<k>", k < the limit,
taken by inserting that `_id` (unique even on the stand-in, so two concurrent starts cannot both
take the last slot). A slot whose job is no longer QUEUED or RUNNING (its process died before
releasing it) is taken over.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from db.drivers.mongo import MongoDoc

COLLECTION = "export_jobs"
SLOTS = "export_slots"
ACTIVE = ("QUEUED", "RUNNING")
# Lapsed leases a job survives: the first kill is resumed, a job that kills its process over
# and over is given up.
MAX_ATTEMPTS = 3
# Newest first; _id breaks ties (keyset cursors of exportJobs).
SORT: list[tuple[str, int]] = [("created_at", -1), ("_id", -1)]


def topic(job_id: uuid.UUID) -> str:
    """The pubsub topic of one job's updates (exportJobUpdated); messages are job documents."""
    return f"export_jobs:{job_id}"


def now_utc() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what MongoDB keeps


def new_job_doc(
    *,
    owner_id: uuid.UUID,
    kind: str,
    fmt: str,
    delimiter: str,
    filter: dict[str, Any],
    retention_s: int,
    now: datetime | None = None,
) -> MongoDoc:
    created = now or now_utc()
    return {
        "_id": uuid.uuid4(),
        "owner_id": owner_id,
        "kind": kind,
        "format": fmt,
        "delimiter": delimiter,
        "filter": filter,
        "status": "QUEUED",
        "progress": 0.0,
        "row_count": 0,
        "created_at": created,
        "started_at": None,
        "finished_at": None,
        "expires_at": created + timedelta(seconds=retention_s),
        "error": None,
        "file_id": None,
        "file_name": None,
        "file_size": None,
        "lease_owner": None,
        "lease_until": None,
        "attempts": 0,
    }


# ---------------------------------------------------------------- slots (running jobs per user)


def _slot_id(owner_id: uuid.UUID, k: int) -> str:
    return f"{owner_id}:{k}"


async def take_slot(
    db: AsyncDatabase[MongoDoc], owner_id: uuid.UUID, job_id: uuid.UUID, limit: int
) -> bool:
    """One of the user's `limit` slots for `job_id`; False when all hold live jobs."""
    slots = db[SLOTS]
    for k in range(limit):
        slot = {"_id": _slot_id(owner_id, k), "owner_id": owner_id, "job_id": job_id}
        try:
            await slots.insert_one(slot)
            return True
        except DuplicateKeyError:
            pass
        held = await slots.find_one({"_id": slot["_id"]})
        if held is None:  # released meanwhile
            try:
                await slots.insert_one(slot)
                return True
            except DuplicateKeyError:
                continue
        holder = await db[COLLECTION].find_one({"_id": held["job_id"]}, {"status": 1})
        if holder is not None and holder["status"] in ACTIVE:
            continue
        # The holder ended without releasing it (its process died): take it over, unless
        # someone else just did (the delete names the holder it read).
        gone = await slots.delete_one({"_id": slot["_id"], "job_id": held["job_id"]})
        if gone.deleted_count:
            try:
                await slots.insert_one(slot)
                return True
            except DuplicateKeyError:
                continue
    return False


async def release_slot(db: AsyncDatabase[MongoDoc], owner_id: uuid.UUID, job_id: uuid.UUID) -> None:
    await db[SLOTS].delete_many({"owner_id": owner_id, "job_id": job_id})


# ---------------------------------------------------------------- reads


async def insert(db: AsyncDatabase[MongoDoc], doc: MongoDoc) -> None:
    await db[COLLECTION].insert_one(doc)


async def find(db: AsyncDatabase[MongoDoc], job_id: uuid.UUID) -> MongoDoc | None:
    return await db[COLLECTION].find_one({"_id": job_id})


def after_filter(created_at: datetime, job_id: uuid.UUID) -> dict[str, Any]:
    return {
        "$or": [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": job_id}},
        ]
    }


async def page(
    db: AsyncDatabase[MongoDoc],
    owner_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    now: datetime,
) -> list[MongoDoc]:
    """The user's jobs that have not expired, newest first (expiry checked here, not by a TTL
    index: the stand-in has none)."""
    query: dict[str, Any] = {"owner_id": owner_id, "expires_at": {"$gt": now}}
    if after is not None:
        query = {"$and": [query, after_filter(*after)]}
    cursor = db[COLLECTION].find(query).sort(SORT).limit(limit)
    return [doc async for doc in cursor]


# ---------------------------------------------------------------- leases


def _lapsed(now: datetime) -> dict[str, Any]:
    return {"$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]}


async def claim(
    db: AsyncDatabase[MongoDoc],
    worker: str,
    lease_s: float,
    now: datetime,
    job_id: uuid.UUID | None = None,
) -> MongoDoc | None:
    """Takes one job nobody holds (QUEUED, or RUNNING with a lapsed lease) for `worker`: it runs
    from the start (progress and row count back to 0)."""
    query: dict[str, Any] = {
        "$and": [
            {"status": {"$in": list(ACTIVE)}, "expires_at": {"$gt": now}},
            {"attempts": {"$lt": MAX_ATTEMPTS}},
            _lapsed(now),
        ]
    }
    if job_id is not None:
        query["$and"].append({"_id": job_id})
    return await db[COLLECTION].find_one_and_update(
        query,
        {
            "$set": {
                "status": "RUNNING",
                "lease_owner": worker,
                "lease_until": now + timedelta(seconds=lease_s),
                "started_at": now,
                "progress": 0.0,
                "row_count": 0,
            },
            "$inc": {"attempts": 1},
        },
        sort=[("created_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


async def fail_abandoned(db: AsyncDatabase[MongoDoc], now: datetime) -> list[MongoDoc]:
    """Jobs whose lease lapsed MAX_ATTEMPTS times: FAILED with the reason. Returns them."""
    query: dict[str, Any] = {
        "$and": [
            {"status": {"$in": list(ACTIVE)}, "attempts": {"$gte": MAX_ATTEMPTS}},
            _lapsed(now),
        ]
    }
    failed: list[MongoDoc] = []
    async for doc in db[COLLECTION].find(query, {"_id": 1, "attempts": 1}).limit(100):
        reason = (
            f"interrupted {doc['attempts']} times: the API process running it stopped "
            "before it finished"
        )
        done = await db[COLLECTION].find_one_and_update(
            {"$and": [{"_id": doc["_id"], "status": {"$in": list(ACTIVE)}}, _lapsed(now)]},
            {"$set": _ended("FAILED", now, error=reason)},
            return_document=ReturnDocument.AFTER,
        )
        if done is not None:
            failed.append(done)
    return failed


def _ended(status: str, now: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "status": status,
        "finished_at": now,
        "lease_owner": None,
        "lease_until": None,
        **fields,
    }


async def heartbeat(
    db: AsyncDatabase[MongoDoc],
    job_id: uuid.UUID,
    worker: str,
    lease_s: float,
    progress: float,
    row_count: int,
) -> MongoDoc | None:
    """Renews the lease and records progress; None when `worker` no longer holds the job."""
    return await db[COLLECTION].find_one_and_update(
        {"_id": job_id, "lease_owner": worker, "status": "RUNNING"},
        {
            "$set": {
                "lease_until": now_utc() + timedelta(seconds=lease_s),
                "progress": progress,
                "row_count": row_count,
            }
        },
        return_document=ReturnDocument.AFTER,
    )


async def set_file(
    db: AsyncDatabase[MongoDoc], job_id: uuid.UUID, worker: str, file_id: uuid.UUID
) -> bool:
    """Records the file being uploaded before it is (a killed upload can then be deleted)."""
    found = await db[COLLECTION].update_one(
        {"_id": job_id, "lease_owner": worker, "status": "RUNNING"},
        {"$set": {"file_id": file_id}},
    )
    return found.matched_count == 1


async def succeed(
    db: AsyncDatabase[MongoDoc],
    job_id: uuid.UUID,
    worker: str,
    *,
    row_count: int,
    file_name: str,
    file_size: int,
) -> MongoDoc | None:
    return await db[COLLECTION].find_one_and_update(
        {"_id": job_id, "lease_owner": worker, "status": "RUNNING"},
        {
            "$set": _ended(
                "SUCCEEDED",
                now_utc(),
                progress=1.0,
                row_count=row_count,
                file_name=file_name,
                file_size=file_size,
            )
        },
        return_document=ReturnDocument.AFTER,
    )


async def fail(
    db: AsyncDatabase[MongoDoc], job_id: uuid.UUID, worker: str | None, reason: str
) -> MongoDoc | None:
    """FAILED with `reason` (worker None: whoever holds it, e.g. a job refused before running)."""
    query: dict[str, Any] = {"_id": job_id, "status": {"$in": list(ACTIVE)}}
    if worker is not None:
        query["lease_owner"] = worker
    return await db[COLLECTION].find_one_and_update(
        query,
        {"$set": _ended("FAILED", now_utc(), error=reason)},
        return_document=ReturnDocument.AFTER,
    )


async def release(db: AsyncDatabase[MongoDoc], job_id: uuid.UUID, worker: str) -> None:
    """Gives a running job back at shutdown: another process (or this one restarted) takes it
    at once, and a clean stop does not count as a lapsed attempt."""
    await db[COLLECTION].update_one(
        {"_id": job_id, "lease_owner": worker, "status": "RUNNING"},
        {"$set": {"lease_owner": None, "lease_until": None}, "$inc": {"attempts": -1}},
    )


# ---------------------------------------------------------------- expiry


async def expired(db: AsyncDatabase[MongoDoc], now: datetime, limit: int = 500) -> list[MongoDoc]:
    cursor = (
        db[COLLECTION]
        .find({"expires_at": {"$lte": now}}, {"_id": 1, "owner_id": 1, "file_id": 1})
        .limit(limit)
    )
    return [doc async for doc in cursor]


async def delete(db: AsyncDatabase[MongoDoc], job_id: uuid.UUID) -> None:
    await db[COLLECTION].delete_one({"_id": job_id})
    await db[SLOTS].delete_many({"job_id": job_id})


async def files_in_use(db: AsyncDatabase[MongoDoc], file_ids: list[Any]) -> set[Any]:
    """Which of these GridFS file ids a job still names."""
    cursor = db[COLLECTION].find({"file_id": {"$in": file_ids}}, {"file_id": 1})
    return {doc["file_id"] async for doc in cursor}
