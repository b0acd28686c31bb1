"""The last answer of public map reads, for a MongoDB outage (issue #12).

`heatmap` and `cityClusters` count VERIFIED UMKMs straight from MongoDB. While it does not
answer, the same read is answered with this process's last answer for the same arguments, when
there is one younger than MAX_AGE_S (counts of verified UMKMs per map cell move slowly); a read
never answered before still fails with SERVICE_UNAVAILABLE. Answers are never served from here
while MongoDB answers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from db.drivers.outages import unavailable_database

T = TypeVar("T")

MAX_AGE_S = 3600.0
MAX_ENTRIES = 512


class LastGood:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    async def read(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await fetch()
        except Exception as exc:
            entry = self._entries.get(key)
            if (
                entry is None
                or unavailable_database(exc) is None
                or self._clock() - entry[0] > MAX_AGE_S
            ):
                raise
            kept: T = entry[1]
            return kept
        self._entries[key] = (self._clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return value
