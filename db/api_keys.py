"""Repository of the `api_keys` collection: keys machines (cashier systems) use to report revenue.

A key is shown to its owner once, as `sgk_<prefix>_<secret>`: `prefix` (16 hex characters) finds
the document, `secret` (32 random bytes, URL-safe base64) proves possession. Only
HMAC-SHA256(SIGMA_SECRET_KEY, secret) is stored. A fast hash is enough here, unlike passwords:
the secret is 256 random bits, so there is nothing to guess faster and a slow hash (argon2) would
only add tens of milliseconds to every machine request; the server key means a copy of the
database alone cannot even check a candidate secret. Rotating SIGMA_SECRET_KEY therefore
invalidates every API key (README, Settings).

Document: {_id: UUID, prefix, secret_hash, name, umkm_id, owner_id, scopes, created_at,
expires_at (None: never), revoked_at (None: live), last_used_at}. Every request looks the key
and its owner up in MongoDB (one round trip, `find_with_owner`): a revocation, an expiry or the
owner's suspension takes effect at once on every API process; nothing is cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from db.drivers.mongo import MongoDoc

COLLECTION = "api_keys"
PREFIX = "sgk_"
REVENUE_REPORTING = "REVENUE_REPORTING"
# Keys one owner may hold at once per UMKM (live ones): a bound on what a lost laptop can leak.
MAX_LIVE_PER_UMKM = 20

Found = tuple[MongoDoc, MongoDoc]  # (key, owner without its password hash)


def _now_ms() -> datetime:
    """Now to the millisecond (what BSON keeps), so keyset cursors compare equal on re-read."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _digest(server_key: str, secret: str) -> str:
    return hmac.new(server_key.encode(), secret.encode(), hashlib.sha256).hexdigest()


def split(presented: str) -> tuple[str, str] | None:
    """(prefix, secret) of a presented key, or None when it does not have the key's shape."""
    if not presented.startswith(PREFIX):
        return None
    prefix, sep, secret = presented[len(PREFIX) :].partition("_")
    if not sep or len(prefix) != 16 or not secret or len(secret) > 100:
        return None
    if any(c not in "0123456789abcdef" for c in prefix):
        return None
    return prefix, secret


def new_key_doc(
    server_key: str,
    *,
    name: str,
    umkm_id: uuid.UUID,
    owner_id: uuid.UUID,
    expires_at: datetime | None,
) -> tuple[MongoDoc, str]:
    """The document to insert and the full key to show once."""
    prefix = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    doc: MongoDoc = {
        "_id": uuid.uuid4(),
        "prefix": prefix,
        "secret_hash": _digest(server_key, secret),
        "name": name,
        "umkm_id": umkm_id,
        "owner_id": owner_id,
        "scopes": [REVENUE_REPORTING],
        "created_at": _now_ms(),
        "expires_at": expires_at,
        "revoked_at": None,
        "last_used_at": None,
    }
    return doc, f"{PREFIX}{prefix}_{secret}"


async def insert(db: AsyncDatabase[MongoDoc], doc: MongoDoc) -> None:
    await db[COLLECTION].insert_one(doc)


def utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def is_live(doc: MongoDoc, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    expires = utc(doc.get("expires_at"))
    return doc.get("revoked_at") is None and (expires is None or expires > now)


async def count_live(db: AsyncDatabase[MongoDoc], umkm_id: uuid.UUID) -> int:
    cursor = db[COLLECTION].find({"umkm_id": umkm_id, "revoked_at": None}, {"expires_at": 1})
    return sum(1 for d in [d async for d in cursor] if is_live(d))


async def find_with_owner(
    db: AsyncDatabase[MongoDoc], server_key: str, presented: str
) -> Found | None:
    """The live key matching `presented` and its owner, in one round trip; None when the key is
    unknown, wrong, revoked or expired (the caller refuses the request)."""
    parts = split(presented)
    if parts is None:
        return None
    prefix, secret = parts
    pipeline: list[MongoDoc] = [
        {"$match": {"prefix": prefix}},
        {"$limit": 1},
        {
            "$lookup": {
                "from": "users",
                "localField": "owner_id",
                "foreignField": "_id",
                "as": "owner",
            }
        },
        {"$project": {"owner.password_hash": 0}},
    ]
    cursor = await db[COLLECTION].aggregate(pipeline)
    docs = [d async for d in cursor]
    if not docs or not docs[0].get("owner"):
        return None
    key = docs[0]
    owner = key.pop("owner")[0]
    if not hmac.compare_digest(str(key.get("secret_hash", "")), _digest(server_key, secret)):
        return None
    if not is_live(key):
        return None
    return key, owner


async def touch(
    db: AsyncDatabase[MongoDoc], key: MongoDoc, every_s: float, now: datetime | None = None
) -> None:
    """Records the use, at most once per `every_s` per key (a write per request would double
    the cost of every machine call): the condition on the stored value keeps processes from
    writing it more often between them."""
    now = now or datetime.now(UTC)
    last = utc(key.get("last_used_at"))
    if last is not None and (now - last).total_seconds() < every_s:
        return
    stale: Any = None if last is None else {"$lt": now - timedelta(seconds=every_s)}
    await db[COLLECTION].update_one(
        {"_id": key["_id"], "last_used_at": stale}, {"$set": {"last_used_at": _now_ms()}}
    )


async def find_by_id(db: AsyncDatabase[MongoDoc], key_id: uuid.UUID) -> MongoDoc | None:
    return await db[COLLECTION].find_one({"_id": key_id})


async def revoke(
    db: AsyncDatabase[MongoDoc], key_id: uuid.UUID, owner_id: uuid.UUID
) -> MongoDoc | None:
    """Sets revoked_at once (revoking again keeps the first time); None when not the owner's."""
    await db[COLLECTION].update_one(
        {"_id": key_id, "owner_id": owner_id, "revoked_at": None},
        {"$set": {"revoked_at": _now_ms()}},
    )
    return await db[COLLECTION].find_one({"_id": key_id, "owner_id": owner_id})


async def page_of_owner(
    db: AsyncDatabase[MongoDoc],
    owner_id: uuid.UUID,
    umkm_ids: Sequence[uuid.UUID] | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[MongoDoc]:
    """The owner's keys, newest first (created_at, _id), strictly after the keyset `after`."""
    query: MongoDoc = {"owner_id": owner_id}
    if umkm_ids is not None:
        query["umkm_id"] = {"$in": list(umkm_ids)}
    if after is not None:
        at, key_id = after
        query["$or"] = [
            {"created_at": {"$lt": at}},
            {"created_at": at, "_id": {"$lt": key_id}},
        ]
    cursor = (
        db[COLLECTION]
        .find(query, {"secret_hash": 0})
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit)
    )
    return [d async for d in cursor]
