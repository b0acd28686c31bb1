"""Shared query-cost buckets (MongoDB `budgets`): one token bucket per identity for all API
processes together (sigma_graphql/limits/budget.py leases points from them).

A document holds the bucket as of its last change: {_id: "<audience>|<identity>", tokens, at
(epoch seconds), v (version), expires_at}. Refill is computed on read (`tokens + elapsed *
rate`, capped at the burst). `take` is compare-and-set on `v`, so concurrent takes from several
processes never hand out the same points twice. `expires_at` is when the bucket is full again:
from then on the document carries no information, and the TTL index removes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from db.drivers.mongo import MongoDoc

COLLECTION = "budgets"
_ATTEMPTS = 50  # compare-and-set retries under contention before giving up


class BudgetContention(PyMongoError):
    """The compare-and-set lost _ATTEMPTS times in a row (callers treat it like an outage)."""


@dataclass(frozen=True)
class Taken:
    granted: float  # 0 when fewer than `need` points were available (nothing is taken then)
    left: float  # points left in the shared bucket after this take


def _full_at(now: float, left: float, burst: float, rate: float) -> datetime:
    seconds = (burst - left) / rate if rate > 0 else 86_400.0
    return datetime.fromtimestamp(now + max(seconds, 0.0), UTC)


async def take(
    mongo: AsyncDatabase[MongoDoc],
    key: str,
    *,
    want: float,
    need: float,
    burst: float,
    rate: float,
    clock: Callable[[], float] = time.time,
) -> Taken:
    """Takes up to `want` points if at least `need` are available, atomically."""
    col = mongo[COLLECTION]
    for attempt in range(_ATTEMPTS):
        now = clock()
        doc = await col.find_one({"_id": key})
        if doc is None:
            tokens, version = burst, 0
        else:
            elapsed = max(0.0, now - float(doc["at"]))
            tokens, version = min(burst, float(doc["tokens"]) + elapsed * rate), int(doc["v"])
        if tokens < need:
            return Taken(0.0, tokens)
        granted = min(want, tokens)
        left = tokens - granted
        state: dict[str, object] = {
            "tokens": left,
            "at": now,
            "v": version + 1,
            "expires_at": _full_at(now, left, burst, rate),
        }
        if doc is None:
            try:
                await col.insert_one({"_id": key, **state})
                return Taken(granted, left)
            except DuplicateKeyError:
                continue  # another process created it first: read it and try again
        result = await col.update_one({"_id": key, "v": version}, {"$set": state})
        if result.matched_count == 1:
            return Taken(granted, left)
        await asyncio.sleep(0.001 * min(attempt, 10))
    raise BudgetContention(key)
