"""Repository of the `users` collection.

Document: {_id: UUID, email, email_lower, password_hash, role, account_status, nama, nik,
telepon, wilayah, created_at, updated_at, expires_at (UNVERIFIED only)}.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from db.drivers.mongo import MongoDoc

COLLECTION = "users"

# Never leave the database layer with the hash unless asked for (login, password change).
PUBLIC_PROJECTION: dict[str, int] = {"password_hash": 0}


def new_user_doc(
    *,
    email: str,
    password_hash: str,
    role: str,
    nama: str,
    account_status: str = "ACTIVE",
    nik: str | None = None,
    telepon: str | None = None,
    wilayah: str | None = None,
    expires_at: datetime | None = None,
    user_id: uuid.UUID | None = None,
) -> MongoDoc:
    now = datetime.now(UTC)
    doc: MongoDoc = {
        "_id": user_id or uuid.uuid4(),
        "email": email.strip(),
        "email_lower": email.strip().lower(),
        "password_hash": password_hash,
        "role": role,
        "account_status": account_status,
        "nama": nama,
        "telepon": telepon,
        "wilayah": wilayah,
        "created_at": now,
        "updated_at": now,
    }
    if nik is not None:  # sparse unique index: absent for staff accounts
        doc["nik"] = nik
    if expires_at is not None:
        doc["expires_at"] = expires_at
    return doc


async def insert(db: AsyncDatabase[MongoDoc], doc: MongoDoc) -> None:
    await db[COLLECTION].insert_one(doc)


async def find_by_id(
    db: AsyncDatabase[MongoDoc], user_id: uuid.UUID, *, with_hash: bool = False
) -> MongoDoc | None:
    return await db[COLLECTION].find_one({"_id": user_id}, None if with_hash else PUBLIC_PROJECTION)


async def find_by_ids(
    db: AsyncDatabase[MongoDoc], ids: Sequence[uuid.UUID], projection: dict[str, int] | None = None
) -> list[MongoDoc]:
    """One round trip for any number of ids (DataLoader batch function)."""
    cursor = db[COLLECTION].find({"_id": {"$in": list(ids)}}, projection or PUBLIC_PROJECTION)
    return [doc async for doc in cursor]


async def find_by_email(
    db: AsyncDatabase[MongoDoc], email: str, *, with_hash: bool = False
) -> MongoDoc | None:
    return await db[COLLECTION].find_one(
        {"email_lower": email.strip().lower()}, None if with_hash else PUBLIC_PROJECTION
    )


def order_by_ids(ids: Iterable[uuid.UUID], docs: Iterable[MongoDoc]) -> list[MongoDoc | None]:
    by_id: dict[Any, MongoDoc] = {d["_id"]: d for d in docs}
    return [by_id.get(i) for i in ids]


# ---------------------------------------------------------------- accounts (issue 3)

# What a User object needs (schema/types/users.user_from_doc): lists project only this.
VIEW_PROJECTION: dict[str, int] = {
    "email": 1,
    "nama": 1,
    "role": 1,
    "account_status": 1,
    "nik": 1,
    "telepon": 1,
    "wilayah": 1,
    "created_at": 1,
}


def is_expired_unverified(doc: MongoDoc, now: datetime | None = None) -> bool:
    """An UNVERIFIED account past its expires_at no longer exists for logins or sign-up."""
    if doc.get("account_status") != "UNVERIFIED":
        return False
    expires_at: datetime | None = doc.get("expires_at")
    return expires_at is not None and expires_at <= (now or datetime.now(UTC))


async def find_conflicts(
    db: AsyncDatabase[MongoDoc], email_lower: str | None, nik: str | None
) -> list[MongoDoc]:
    """Accounts holding this e-mail or NIK (one round trip for both uniqueness checks)."""
    ors: list[MongoDoc] = []
    if email_lower:
        ors.append({"email_lower": email_lower})
    if nik:
        ors.append({"nik": nik})
    if not ors:
        return []
    projection = {"email_lower": 1, "nik": 1, "account_status": 1, "expires_at": 1}
    return [d async for d in db[COLLECTION].find({"$or": ors}, projection)]


async def delete_if_expired_unverified(
    db: AsyncDatabase[MongoDoc], user_id: uuid.UUID, now: datetime
) -> bool:
    """Removes a stale sign-up (the condition is re-checked by the server, so never a live one)."""
    result = await db[COLLECTION].delete_one(
        {"_id": user_id, "account_status": "UNVERIFIED", "expires_at": {"$lte": now}}
    )
    return result.deleted_count == 1


async def activate(db: AsyncDatabase[MongoDoc], user_id: uuid.UUID, now: datetime) -> bool:
    """UNVERIFIED (not yet expired) -> ACTIVE; False when there was nothing to activate."""
    result = await db[COLLECTION].update_one(
        {"_id": user_id, "account_status": "UNVERIFIED", "expires_at": {"$gt": now}},
        {"$set": {"account_status": "ACTIVE", "updated_at": now}, "$unset": {"expires_at": ""}},
    )
    return result.modified_count == 1


async def set_password_hash(
    db: AsyncDatabase[MongoDoc], user_id: uuid.UUID, password_hash: str
) -> None:
    await db[COLLECTION].update_one(
        {"_id": user_id},
        {"$set": {"password_hash": password_hash, "updated_at": datetime.now(UTC)}},
    )


async def update_fields(
    db: AsyncDatabase[MongoDoc],
    user_id: uuid.UUID,
    changes: MongoDoc,
    unset: Sequence[str] = (),
) -> MongoDoc | None:
    """Applies `changes` and returns the updated document (without the hash)."""
    update: MongoDoc = {"$set": {**changes, "updated_at": datetime.now(UTC)}}
    if unset:
        update["$unset"] = {name: "" for name in unset}
    await db[COLLECTION].update_one({"_id": user_id}, update)
    return await find_by_id(db, user_id)


async def delete(db: AsyncDatabase[MongoDoc], user_id: uuid.UUID) -> bool:
    result = await db[COLLECTION].delete_one({"_id": user_id})
    return result.deleted_count == 1


def list_filter(role: str | None, search: str | None) -> MongoDoc:
    """Mongo filter of the admin user list: role and a case-insensitive substring search."""
    query: MongoDoc = {}
    if role:
        query["role"] = role
    if search and search.strip():
        pattern = {"$regex": re.escape(search.strip()), "$options": "i"}
        query["$or"] = [{"nama": pattern}, {"email": pattern}]
    return query


async def list_page(
    db: AsyncDatabase[MongoDoc],
    query: MongoDoc,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[MongoDoc]:
    """Newest first, keyset on (created_at, _id); fetches limit + 1 to tell if more follow."""
    page = dict(query)
    if after is not None:
        created, last_id = after
        keyset: MongoDoc = {
            "$or": [
                {"created_at": {"$lt": created}},
                {"created_at": created, "_id": {"$lt": last_id}},
            ]
        }
        page = {"$and": [query, keyset]} if query else keyset
    cursor = (
        db[COLLECTION]
        .find(page, VIEW_PROJECTION)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    return [d async for d in cursor]


async def count(db: AsyncDatabase[MongoDoc], query: MongoDoc) -> int:
    return await db[COLLECTION].count_documents(query)
