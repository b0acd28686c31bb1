"""Repository of the `sessions` collection.

Tokens are random 256-bit values given to the client once; only their SHA-256 is stored (the
document id), so a database leak does not leak usable sessions. Expiry is checked in code on every
request (a TTL index only cleans up where the server supports it).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from db.mongo import MongoDoc

COLLECTION = "sessions"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(
    db: AsyncDatabase[MongoDoc],
    user_id: uuid.UUID,
    ttl_s: int,
    user_agent: str | None = None,
    ip_address: str | None = None,
) -> tuple[str, datetime]:
    token = new_token()
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=ttl_s)
    await db[COLLECTION].insert_one(
        {
            "_id": hash_token(token),
            "user_id": user_id,
            "created_at": now,
            "expires_at": expires_at,
            "user_agent": (user_agent or "")[:300],
            "ip_address": ip_address,
        }
    )
    return token, expires_at


async def find_with_user(
    db: AsyncDatabase[MongoDoc], token: str
) -> tuple[MongoDoc, MongoDoc] | None:
    """The live session of `token` and its user, in one round trip; None if missing/expired."""
    pipeline: list[MongoDoc] = [
        {"$match": {"_id": hash_token(token)}},
        {
            "$lookup": {
                "from": "users",
                "localField": "user_id",
                "foreignField": "_id",
                "as": "user",
            }
        },
        {"$project": {"user.password_hash": 0}},
    ]
    cursor = await db[COLLECTION].aggregate(pipeline)
    docs = [d async for d in cursor]
    if not docs or not docs[0].get("user"):
        return None
    session = docs[0]
    user = session.pop("user")[0]
    if session["expires_at"] <= datetime.now(UTC):
        return None
    return session, user


async def delete(db: AsyncDatabase[MongoDoc], session_id: str) -> None:
    await db[COLLECTION].delete_one({"_id": session_id})


async def delete_for_user(db: AsyncDatabase[MongoDoc], user_id: uuid.UUID) -> int:
    result = await db[COLLECTION].delete_many({"user_id": user_id})
    return result.deleted_count


async def delete_for_user_except(
    db: AsyncDatabase[MongoDoc], user_id: uuid.UUID, keep_session_id: str | None
) -> int:
    """Ends every session of the account except the one making the request."""
    query: MongoDoc = {"user_id": user_id}
    if keep_session_id is not None:
        query["_id"] = {"$ne": keep_session_id}
    result = await db[COLLECTION].delete_many(query)
    return result.deleted_count
