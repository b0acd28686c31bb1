"""Loaders for `users` documents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from db import users
from db.drivers.mongo import MongoDoc
from loaders.dataloader import DataLoader

if TYPE_CHECKING:
    from db.drivers.handles import Databases


def user_by_id(dbs: Databases) -> DataLoader[uuid.UUID, MongoDoc | None]:
    """User documents (without password hash) by id: one `$in` query per batch."""

    async def load(ids: Sequence[uuid.UUID]) -> list[MongoDoc | None]:
        return users.order_by_ids(ids, await users.find_by_ids(dbs.mongo, ids))

    return DataLoader(load_fn=load)
