"""Export files in MongoDB GridFS (bucket `exports`), so every API process can serve any file.

pymongo's native async GridFS (`AsyncGridFSBucket`; Motor is deprecated, CONVENTIONS.md 3).
Files are uploaded from the finished file on disk a few chunks at a time and read back chunk by
chunk, so neither direction holds a whole file in memory. A file's id is a UUID (the job records it
before the upload starts, so an upload cut short by a kill can still be deleted);
`metadata.job_id` ties every file to its job, which lets `clean-exports` find files whose job is
gone (db/maintenance/export_cleanup.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import IO, Any

from bson import Binary, ObjectId
from gridfs import AsyncGridFSBucket, NoFile
from pymongo.asynchronous.database import AsyncDatabase

from db.drivers.mongo import MongoDoc

BUCKET = "exports"
CHUNK_SIZE = 255 * 1024  # GridFS's default
UPLOAD_BATCH = 16  # chunks per insert: about 4 MB in flight


def bucket(db: AsyncDatabase[MongoDoc]) -> AsyncGridFSBucket:
    return AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_SIZE)


async def upload(
    db: AsyncDatabase[MongoDoc],
    file_id: uuid.UUID,
    name: str,
    source: IO[bytes],
    *,
    job_id: uuid.UUID,
    content_type: str,
    expires_at: datetime,
) -> int:
    """Copies `source` into GridFS under `file_id`; returns its size in bytes.

    Written here rather than through the driver's upload stream, which buffers up to 48 MB of
    chunks before its first insert (peak RSS grew by about 2.5 times the file size up to that,
    bench/README.md "Exports"): UPLOAD_BATCH chunks per insert, then the files document last,
    as GridFS does, so a reader never sees a file before all its chunks."""
    chunks = db[f"{BUCKET}.chunks"]
    size = n = 0
    batch: list[MongoDoc] = []
    while True:
        block = source.read(CHUNK_SIZE)
        if block:
            batch.append({"_id": ObjectId(), "files_id": file_id, "n": n, "data": Binary(block)})
            n += 1
            size += len(block)
        if batch and (len(batch) >= UPLOAD_BATCH or not block):
            await chunks.insert_many(batch, ordered=True)
            batch = []
        if not block:
            break
    await db[f"{BUCKET}.files"].insert_one(
        {
            "_id": file_id,
            "length": size,
            "chunkSize": CHUNK_SIZE,
            "uploadDate": datetime.now(UTC),
            "filename": name,
            "metadata": {"job_id": job_id, "content_type": content_type, "expires_at": expires_at},
        }
    )
    return size


async def delete(db: AsyncDatabase[MongoDoc], file_id: uuid.UUID) -> bool:
    """Deletes the file and its chunks (also the chunks of an upload cut short, which has no
    file document yet); True when a file document existed."""
    try:
        await bucket(db).delete(file_id)
    except NoFile:
        return False
    return True


async def exists(db: AsyncDatabase[MongoDoc], file_id: uuid.UUID | None) -> bool:
    if file_id is None:
        return False
    found = await db[f"{BUCKET}.files"].find_one({"_id": file_id}, {"_id": 1})
    return found is not None


async def stream(db: AsyncDatabase[MongoDoc], file_id: uuid.UUID) -> AsyncIterator[bytes]:
    """The file's bytes chunk by chunk (NoFile if it does not exist: check with `exists`)."""
    grid_out = await bucket(db).open_download_stream(file_id)
    try:
        while True:
            block = await grid_out.readchunk()
            if not block:
                break
            yield block
    finally:
        await grid_out.close()


async def file_jobs(db: AsyncDatabase[MongoDoc], limit: int = 1000) -> list[tuple[Any, Any]]:
    """(file id, job id) of stored files (for clean-exports), oldest first."""
    cursor = (
        db[f"{BUCKET}.files"]
        .find({}, {"_id": 1, "metadata.job_id": 1})
        .sort([("uploadDate", 1)])
        .limit(limit)
    )
    return [(doc["_id"], (doc.get("metadata") or {}).get("job_id")) async for doc in cursor]


async def chunk_file_ids(db: AsyncDatabase[MongoDoc], limit: int = 1000) -> list[Any]:
    """Distinct files_id of stored chunks (uploads cut short have chunks but no file)."""
    found: list[Any] = await db[f"{BUCKET}.chunks"].distinct("files_id")
    return found[:limit]
