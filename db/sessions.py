"""Repository of the `sessions` collection.

Tokens are random 256-bit values given to the client once; only their SHA-256 is stored (the
document id), so a database leak does not leak usable sessions. Expiry is checked in code on every
request (a TTL index only cleans up where the server supports it).

`RECENT` remembers, per process, the sessions `find_with_user` validated and when. It is read
only while MongoDB does not answer (sigma_graphql/context.resolve_viewer, issue #12): a viewer
validated within SIGMA_SESSION_CACHE_S keeps working for what needs no MongoDB. Every lookup
that reaches MongoDB answers from MongoDB, so a logout, password reset or suspension takes effect
at once while it answers; during an outage, a session ended elsewhere may keep working until
SIGMA_SESSION_CACHE_S after its last validation (this process forgets the sessions it ends
itself at once).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from db.drivers.mongo import MongoDoc

COLLECTION = "sessions"

Found = tuple[MongoDoc, MongoDoc]  # (session, user without its password hash)


class SessionCache:
    """Recently validated sessions by token hash, oldest validation first out."""

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Found]] = OrderedDict()

    def remember(self, key: str, found: Found) -> None:
        self._entries[key] = (self._clock(), found)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_user(self, user_id: uuid.UUID, except_key: str | None = None) -> None:
        for key in [k for k, (_, (_, user)) in self._entries.items() if user["_id"] == user_id]:
            if key != except_key:
                del self._entries[key]

    def get(self, token: str, max_age_s: float) -> Found | None:
        """The session of `token` if validated within max_age_s and not expired since."""
        entry = self._entries.get(hash_token(token))
        if entry is None or self._clock() - entry[0] > max_age_s:
            return None
        session, user = entry[1]
        if session["expires_at"] <= datetime.now(UTC):
            return None
        return session, user


RECENT = SessionCache()


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


async def find_with_user(db: AsyncDatabase[MongoDoc], token: str) -> Found | None:
    """The live session of `token` and its user, in one round trip; None if missing/expired.
    The answer is remembered in RECENT (or forgotten, when there is none)."""
    key = hash_token(token)
    found = await _find_with_user(db, key)
    if found is None:
        RECENT.forget(key)
    else:
        RECENT.remember(key, found)
    return found


async def _find_with_user(db: AsyncDatabase[MongoDoc], key: str) -> Found | None:
    pipeline: list[MongoDoc] = [
        {"$match": {"_id": key}},
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
    RECENT.forget(session_id)
    await db[COLLECTION].delete_one({"_id": session_id})


async def delete_for_user(db: AsyncDatabase[MongoDoc], user_id: uuid.UUID) -> int:
    RECENT.forget_user(user_id)
    result = await db[COLLECTION].delete_many({"user_id": user_id})
    return result.deleted_count


async def delete_for_user_except(
    db: AsyncDatabase[MongoDoc], user_id: uuid.UUID, keep_session_id: str | None
) -> int:
    """Ends every session of the account except the one making the request."""
    RECENT.forget_user(user_id, except_key=keep_session_id)
    query: MongoDoc = {"user_id": user_id}
    if keep_session_id is not None:
        query["_id"] = {"$ne": keep_session_id}
    result = await db[COLLECTION].delete_many(query)
    return result.deleted_count
