"""Circuit breakers: one per database in each API process (issue #12).

Without one, every request needing a hung database waits for the driver's timeout (seconds), and
a request with two sequential reads waits twice. With one:

- CLOSED: operations run. Each failure that means "the database does not answer" (a connection
  error or a timeout, never a duplicate key or a bad query) adds one to a count of consecutive
  failures; any success resets it. `threshold` consecutive failures OPEN the breaker.
- OPEN: every operation on that database fails at once with the database's "unavailable" error
  carrying `retry_after`, which the API turns into SERVICE_UNAVAILABLE with
  `extensions.retryAfter`. Only the background probe (db/drivers/handles.py) asks the database; when
  it answers, the probe closes the breaker. Successes of operations that were already in flight
  close it too: they are answers.

A breaker is armed only while a probe runs (the API's lifespan); in CLI commands it counts but
never opens, so nothing can stay open without someone to close it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Breaker:
    def __init__(
        self,
        name: str,
        unavailable: Callable[[str, int], Exception],
        *,
        threshold: int,
        probe_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._unavailable = unavailable
        self.threshold = threshold
        self.probe_interval_s = probe_interval_s
        self._clock = clock
        self.armed = False
        self.failures = 0
        self._opened_at: float | None = None
        self.last_error = ""

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    @property
    def retry_after(self) -> int:
        """Whole seconds a client should wait: until the probe has asked again."""
        return max(1, math.ceil(self.probe_interval_s))

    def check(self) -> None:
        """Raises the database's unavailable error at once while the breaker is open."""
        if self._opened_at is not None:
            raise self._unavailable(
                f"{self.name} did not answer; circuit open (last error: {self.last_error})",
                self.retry_after,
            )

    def success(self) -> None:
        self.failures = 0
        if self._opened_at is not None:
            log.warning(
                "%s answers again: circuit closed after %.1f s",
                self.name,
                self._clock() - self._opened_at,
            )
            self._opened_at = None

    def failure(self, error: BaseException | str) -> None:
        self.failures += 1
        self.last_error = str(error)[:200] or type(error).__name__
        if self.armed and self._opened_at is None and self.failures >= self.threshold:
            self._opened_at = self._clock()
            log.warning(
                "%s failed %d times in a row (%s): circuit open, requests fail at once",
                self.name,
                self.failures,
                self.last_error,
            )
