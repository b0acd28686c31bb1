"""Repository of the `persisted_documents` collection: GraphQL documents known by their hash.

Two kinds share the collection, keyed by the id clients send (`_id`):
- documents registered through automatic persisted queries (Apollo's protocol: the id is the
  SHA-256 of the document, checked before anything is stored), `trusted: false`;
- trusted documents loaded by `sigma-graphql trust-documents` from a client's manifest,
  `trusted: true` (the id is the manifest's, normally the same SHA-256).

Every API process reads the same collection, so a document registered through one process is
found by all of them (sigma_graphql/server/persisted_queries.py keeps an in-process cache in
front). A registration never turns a trusted document into an untrusted one, nor changes its
text.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from db.drivers.mongo import MongoDoc

COLLECTION = "persisted_documents"


@dataclass(frozen=True)
class StoredDocument:
    id: str
    document: str
    trusted: bool


@dataclass(frozen=True)
class TrustedEntry:
    id: str
    document: str
    name: str | None = None


def sha256_hex(document: str) -> str:
    """The id Apollo's automatic persisted queries give a document."""
    return hashlib.sha256(document.encode()).hexdigest()


def _stored(doc: MongoDoc) -> StoredDocument:
    return StoredDocument(str(doc["_id"]), str(doc["document"]), bool(doc.get("trusted")))


async def get(mongo: AsyncDatabase[MongoDoc], document_id: str) -> StoredDocument | None:
    doc = await mongo[COLLECTION].find_one({"_id": document_id})
    return _stored(doc) if doc is not None else None


async def register(mongo: AsyncDatabase[MongoDoc], document_id: str, document: str) -> None:
    """Stores an automatic persisted query (idempotent; an existing entry stays as it is)."""
    # DuplicateKeyError: registered at the same moment by another process.
    with contextlib.suppress(DuplicateKeyError):
        await mongo[COLLECTION].update_one(
            {"_id": document_id},
            {
                "$setOnInsert": {
                    "document": document,
                    "trusted": False,
                    "created_at": datetime.now(UTC),
                }
            },
            upsert=True,
        )


async def trust(mongo: AsyncDatabase[MongoDoc], entries: Iterable[TrustedEntry]) -> int:
    """Stores (or marks) each entry as a trusted document; returns how many were written."""
    written = 0
    now = datetime.now(UTC)
    for entry in entries:
        await mongo[COLLECTION].update_one(
            {"_id": entry.id},
            {
                "$set": {
                    "document": entry.document,
                    "trusted": True,
                    "name": entry.name,
                    "trusted_at": now,
                },
                "$setOnInsert": {"created_at": now},
            },
            upsert=True,
        )
        written += 1
    return written


async def count_trusted(mongo: AsyncDatabase[MongoDoc]) -> int:
    return await mongo[COLLECTION].count_documents({"trusted": True})
