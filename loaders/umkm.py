"""Loaders for `umkm_profiles` documents."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from db import umkm_profiles, users
from db.drivers.mongo import MongoDoc
from loaders.dataloader import DataLoader

if TYPE_CHECKING:
    from db.drivers.handles import Databases


def umkm_by_id(dbs: Databases) -> DataLoader[uuid.UUID, MongoDoc | None]:
    """UMKM documents by id (any status; callers apply the row rule): one `$in` per batch."""

    async def load(ids: Sequence[uuid.UUID]) -> list[MongoDoc | None]:
        return users.order_by_ids(ids, await umkm_profiles.find_by_ids(dbs.mongo, ids))

    return DataLoader(load_fn=load)


@dataclass(frozen=True)
class OwnerPage:
    """One owner's page: up to `limit` UMKMs strictly after the keyset `after`."""

    owner_id: uuid.UUID
    limit: int
    after: tuple[datetime, uuid.UUID] | None


def umkms_by_owner(dbs: Databases) -> DataLoader[OwnerPage, tuple[int, list[MongoDoc]]]:
    """(count, page) of each owner's not deleted UMKMs, newest first. Listed users share the
    field's arguments, so a batch is one aggregation fetching at most `limit` rows per owner
    (a batch mixing arguments, e.g. aliases, costs one per distinct (limit, after))."""

    async def load(keys: Sequence[OwnerPage]) -> list[tuple[int, list[MongoDoc]]]:
        groups: dict[tuple[int, tuple[datetime, uuid.UUID] | None], list[uuid.UUID]] = {}
        for key in keys:
            groups.setdefault((key.limit, key.after), []).append(key.owner_id)
        args = list(groups.items())
        answers = await asyncio.gather(
            *(
                umkm_profiles.first_by_owners(
                    dbs.mongo, owners, limit, after, umkm_profiles.FULL_PROJECTION
                )
                for (limit, after), owners in args
            )
        )
        found = {
            (limit, after, owner): page
            for ((limit, after), _), answer in zip(args, answers, strict=True)
            for owner, page in answer.items()
        }
        return [found.get((k.limit, k.after, k.owner_id), (0, [])) for k in keys]

    return DataLoader(load_fn=load)
