"""Repository of the `users` collection.

Document: {_id: UUID, email, email_lower, password_hash, role, account_status, nama, nik,
telepon, wilayah, created_at, updated_at, expires_at (UNVERIFIED only)}.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from db.mongo import MongoDoc

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
