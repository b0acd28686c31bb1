"""Per-identity token buckets: the query-cost budget of each user (or client address).

Each identity owns a bucket of `burst` points refilled at `refill_per_s`, both per audience
(settings.budget_burst / settings.budget_refill_per_s). A request spends its static cost.

The store lives in the process: several server processes behind a load balancer each keep
their own buckets, so the effective budget is multiplied by the number of processes (see
bench/README.md). Stale buckets (full again) are dropped so the map does not grow forever.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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

    def _rate_of(self, audience: str) -> float:
        return self._refill.get(audience, self._refill.get("PUBLIC", 0.0))

    def available(self, audience: str, identity: str) -> int:
        """Points the identity could spend now (nothing is taken)."""
        bucket = self._buckets.get((audience, identity))
        burst = float(self.burst_of(audience))
        if bucket is None:
            return int(burst)
        elapsed = self._clock() - bucket.updated
        return int(min(burst, bucket.tokens + elapsed * self._rate_of(audience)))

    def spend(self, audience: str, identity: str, cost: int) -> Decision:
        """Takes `cost` points from the identity's bucket, or refuses without taking any."""
        now = self._clock()
        burst = float(self.burst_of(audience))
        rate = self._rate_of(audience)
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
            rate = self._rate_of(audience)
            if bucket.tokens + (now - bucket.updated) * rate >= self.burst_of(audience):
                del self._buckets[key]
