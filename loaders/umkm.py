"""Loaders for `umkm_profiles` documents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from db import umkm_profiles, users
from db.mongo import MongoDoc

if TYPE_CHECKING:
    from sigma_graphql.context import Context


def umkm_by_id(ctx: Context) -> DataLoader[uuid.UUID, MongoDoc | None]:
    """UMKM documents by id (any status; callers apply the row rule): one `$in` per batch."""

    async def load(ids: Sequence[uuid.UUID]) -> list[MongoDoc | None]:
        return users.order_by_ids(ids, await umkm_profiles.find_by_ids(ctx.mongo, ids))

    return DataLoader(load_fn=load)


def umkms_by_owner(ctx: Context) -> DataLoader[uuid.UUID, list[MongoDoc]]:
    """Not deleted UMKMs of each owner, newest first: one `$in` per batch however many users
    are listed (an owner holds a handful of UMKMs, so the whole set is fetched and callers
    page through it)."""

    async def load(owner_ids: Sequence[uuid.UUID]) -> list[list[MongoDoc]]:
        docs = await umkm_profiles.find_by_owners(
            ctx.mongo, owner_ids, umkm_profiles.FULL_PROJECTION
        )
        grouped: dict[uuid.UUID, list[MongoDoc]] = {owner: [] for owner in owner_ids}
        for doc in docs:
            grouped[doc["owner_id"]].append(doc)
        return [grouped[owner] for owner in owner_ids]

    return DataLoader(load_fn=load)
