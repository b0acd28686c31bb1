"""Per-identity token buckets: the query-cost budget of each user (or client address).

Each identity owns a bucket of `burst` points refilled at `refill_per_s`, both per audience
(settings.budget_burst / settings.budget_refill_per_s). A request spends its static cost.

- `BudgetStore`: buckets in this process. Stale buckets (full again) are dropped so the map does
  not grow forever. On its own it would give every identity one bucket per API process.
- `SharedBudget` (the default, SIGMA_BUDGET_SHARED): the bucket is shared by all processes
  (db/budgets.py, MongoDB). A process leases points from it, at least what the request needs and
  up to a tenth of the burst, and spends further requests from the lease without a round trip;
  a lease not used within LEASE_TTL_S is dropped (those points are lost until the refill brings
  them back: an identity can be refused a little early, never let through beyond its budget).
  When MongoDB does not answer, the process falls back to its own buckets (logged) instead of
  refusing everyone.
- Hints (issue 17): a process whose take finds the shared bucket empty refuses that identity
  from memory until the missing points are back (at most HINT_MAX_S), and tells the other
  processes on the pubsub topic HINT_TOPIC (carried by NATS), which do the same. An identity
  flooding every process after spending its budget then costs no MongoDB round trip per refused
  request. A hint can only refuse early (a cheaper request might have fit within that second),
  never admit: the shared bucket stays the only source of points.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from db import budgets
from db.drivers.mongo import MongoDoc
from sigma_graphql.core.pubsub import PubSub

log = logging.getLogger(__name__)

# A bucket that has been idle long enough to be full again carries no information.
_SWEEP_EVERY = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Points left after this request (or, when refused, points available now).
    remaining: int
    # Seconds until the request would fit (refused only); at least 1.
    retry_after: int = 0


class BudgetStore:
    def __init__(
        self,
        refill_per_s: Mapping[str, float],
        burst: Mapping[str, int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._refill = dict(refill_per_s)
        self._burst = dict(burst)
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._ops = 0

    def burst_of(self, audience: str) -> int:
        return self._burst.get(audience, self._burst.get("PUBLIC", 0))

    def rate_of(self, audience: str) -> float:
        return self._refill.get(audience, self._refill.get("PUBLIC", 0.0))

    def available(self, audience: str, identity: str) -> int:
        """Points the identity could spend now (nothing is taken)."""
        bucket = self._buckets.get((audience, identity))
        burst = float(self.burst_of(audience))
        if bucket is None:
            return int(burst)
        elapsed = self._clock() - bucket.updated
        return int(min(burst, bucket.tokens + elapsed * self.rate_of(audience)))

    def spend(self, audience: str, identity: str, cost: int) -> Decision:
        """Takes `cost` points from the identity's bucket, or refuses without taking any."""
        now = self._clock()
        burst = float(self.burst_of(audience))
        rate = self.rate_of(audience)
        key = (audience, identity)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(burst, now)
        else:
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        self._ops += 1
        if self._ops % _SWEEP_EVERY == 0:
            self._sweep(now)
        if cost <= bucket.tokens:
            bucket.tokens -= cost
            return Decision(True, int(bucket.tokens))
        missing = cost - bucket.tokens
        wait = math.ceil(missing / rate) if rate > 0 else 3600
        return Decision(False, int(bucket.tokens), max(1, wait))

    def _sweep(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            audience = key[0]
            rate = self.rate_of(audience)
            if bucket.tokens + (now - bucket.updated) * rate >= self.burst_of(audience):
                del self._buckets[key]


LEASE_FRACTION = 0.1
LEASE_TTL_S = 5.0
# "This identity's shared bucket is empty until <unix time>", to every process.
HINT_TOPIC = "budget:exhausted"
HINT_MAX_S = 1.0


@dataclass
class _Lease:
    tokens: float  # leased points not spent yet
    expires: float
    shared_left: float  # the shared bucket after the last take, for `remaining`
    shared_at: float


class SharedBudget:
    """Buckets shared by all API processes, spent from local leases (module docstring)."""

    def __init__(
        self,
        refill_per_s: Mapping[str, float],
        burst: Mapping[str, int],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.local = BudgetStore(refill_per_s, burst, clock)
        self._clock = clock
        self._leases: dict[tuple[str, str], _Lease] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._warned = False
        self._taken = 0
        self._exhausted: dict[tuple[str, str], float] = {}  # identity -> empty until (unix s)
        self._hints: PubSub | None = None

    def bind(self, pubsub: PubSub) -> None:
        """Sends and receives empty-bucket hints on pubsub (the app's, at start)."""
        if self._hints is not pubsub:
            self._hints = pubsub
            pubsub.on(HINT_TOPIC, self._hint)

    def _hint(self, message: dict[str, object]) -> None:
        try:
            key = (str(message["a"]), str(message["i"]))
            until = min(float(str(message["until"])), self._clock() + HINT_MAX_S)
        except (KeyError, TypeError, ValueError):
            return
        if until > self._exhausted.get(key, 0.0) and len(self._exhausted) < _SWEEP_EVERY:
            self._exhausted[key] = until

    def _empty(self, key: tuple[str, str], until: float) -> None:
        if len(self._exhausted) >= _SWEEP_EVERY:  # hints last a second: drop the expired ones
            now = self._clock()
            self._exhausted = {k: u for k, u in self._exhausted.items() if u > now}
        self._exhausted[key] = until
        if self._hints is not None:
            self._hints.publish(HINT_TOPIC, {"a": key[0], "i": key[1], "until": until})

    def burst_of(self, audience: str) -> int:
        return self.local.burst_of(audience)

    def _lease(self, key: tuple[str, str], now: float) -> _Lease | None:
        lease = self._leases.get(key)
        if lease is not None and lease.expires <= now:
            del self._leases[key]
            return None
        return lease

    def available(self, audience: str, identity: str) -> int:
        """This process's view: its lease plus the shared bucket as last seen (refilled)."""
        now = self._clock()
        lease = self._lease((audience, identity), now)
        if lease is None:
            return self.burst_of(audience)
        shared = lease.shared_left + (now - lease.shared_at) * self.local.rate_of(audience)
        return int(min(float(self.burst_of(audience)), lease.tokens + shared))

    async def spend(
        self, mongo: AsyncDatabase[MongoDoc], audience: str, identity: str, cost: int
    ) -> Decision:
        if cost == 0:
            return Decision(True, self.available(audience, identity))
        key = (audience, identity)
        while True:
            lease = self._lease(key, self._clock())
            have = lease.tokens if lease is not None else 0.0
            if lease is not None and cost <= have:
                lease.tokens -= cost
                return Decision(True, self.available(audience, identity))
            pending = self._pending.get(key)
            if pending is None:
                break
            # Another request of this identity is leasing: one take per process at a time.
            await asyncio.shield(pending)
        now = self._clock()
        empty_until = self._exhausted.get(key)
        if empty_until is not None:
            if empty_until > now:  # a hint: the shared bucket is empty, no round trip
                return Decision(False, int(have), max(1, math.ceil(empty_until - now)))
            del self._exhausted[key]
        taken = await self._take(mongo, key, cost - have)
        if taken is None:  # MongoDB did not answer
            return self.local.spend(audience, identity, cost)
        now = self._clock()
        lease = self._lease(key, now)  # requests may have spent from it meanwhile
        tokens = (lease.tokens if lease is not None else 0.0) + taken.granted
        if taken.granted == 0 or tokens < cost:
            if tokens > 0:
                self._leases[key] = _Lease(tokens, now + LEASE_TTL_S, taken.left, now)
            rate = self.local.rate_of(audience)
            missing = cost - tokens - taken.left
            wait = math.ceil(missing / rate) if rate > 0 else 3600
            if taken.granted == 0:
                exact = missing / rate if rate > 0 else HINT_MAX_S
                self._empty(key, now + min(exact, HINT_MAX_S))
            return Decision(False, int(tokens + taken.left), max(1, wait))
        self._leases[key] = _Lease(tokens - cost, now + LEASE_TTL_S, taken.left, now)
        self._taken += 1
        if self._taken % _SWEEP_EVERY == 0:  # as BudgetStore: a scan now and then, not per take
            for stale in [k for k, v in self._leases.items() if v.expires <= now]:
                del self._leases[stale]
        return Decision(True, self.available(audience, identity))

    async def _take(
        self, mongo: AsyncDatabase[MongoDoc], key: tuple[str, str], need: float
    ) -> budgets.Taken | None:
        audience, identity = key
        burst = float(self.burst_of(audience))
        rate = self.local.rate_of(audience)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[key] = done
        try:
            return await budgets.take(
                mongo,
                # Settings are part of the key: processes configured alike share a bucket, and
                # a change of budget settings starts from fresh buckets.
                f"{audience}|{identity}|{burst:g}/{rate:g}",
                want=max(need, burst * LEASE_FRACTION),
                need=need,
                burst=burst,
                rate=rate,
                clock=self._clock,
            )
        except PyMongoError as exc:
            if not self._warned:
                self._warned = True
                log.warning("shared budgets unavailable, using this process's buckets: %s", exc)
            return None
        finally:
            del self._pending[key]
            done.set_result(None)
