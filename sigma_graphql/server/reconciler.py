"""The background reconciler: aggregates, summaries, counts and verification tasks heal by
themselves after a fault, with no operator action (issue 12, finding 6).

Every API process runs one; exactly one of them works at a time, the holder of the lease
(db/reconciler_lease.py: a Cassandra LWT with a TTL of SIGMA_RECONCILE_LEASE_S, renewed every
round and before every correction, so a dead holder is replaced within that TTL). Each
SIGMA_RECONCILE_INTERVAL_S the holder reads the intent table (db/write_intents.py) from the
watermark (minutes before it hold no open intent) up to now, and hands the intents open for
longer than SIGMA_INTENT_REPAIR_AGE_S to db/maintenance/intent_repair.py. An intent whose repair
fixed something is checked once more in the next round, even if its writer marked it done meanwhile
(a late writer, a delta landing late), and marked done only after a round that found nothing.

Recovery time after a fault: repair age + one interval (+ the lease TTL when the process that
held the lease died), about 25 s with the defaults; measured figures in the README.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from db import reconciler_lease, write_intents
from db.drivers.handles import Databases
from db.maintenance.intent_repair import LeaseLost, RepairReport, repair
from db.write_intents import SLOT_S, Intent, slot_of

log = logging.getLogger(__name__)

# Minutes older than this are never read (and intents expire after two days).
HORIZON_S = 24 * 3600
# Without a watermark yet (first round on a keyspace) only the last hour is read.
FIRST_SCAN_S = 3600
# Writers' clocks may differ from ours by this much: snapshots read the minutes around now
# with this margin, and the watermark stays this far behind the repair age.
SKEW_S = 10.0


class Reconciler:
    def __init__(
        self,
        dbs: Databases,
        *,
        interval_s: float,
        repair_age_s: float,
        lease_s: int,
    ) -> None:
        self.dbs = dbs
        self.interval_s = interval_s
        self.repair_age_s = repair_age_s
        self.lease_s = lease_s
        self.holder = uuid.uuid4()
        self.holding = False
        self.rounds = 0  # rounds run as the lease holder (tests wait on it)
        self.last: RepairReport | None = None
        # Intents repaired with fixes in the previous round: checked again, open or not.
        self._verify: dict[uuid.UUID, Intent] = {}
        self._task: asyncio.Task[None] | None = None

    async def _lease(self) -> bool:
        self.holding = await reconciler_lease.take(
            self.dbs.cassandra, self.holder, self.lease_s, renew=self.holding
        )
        return self.holding

    async def _snapshot(self) -> dict[uuid.UUID, Intent]:
        now = time.time()
        found = await write_intents.scan(
            self.dbs.cassandra, slot_of(now - SKEW_S), slot_of(now + SKEW_S)
        )
        return {i.intent_id: i for i in found}

    async def run_once(self) -> RepairReport | None:
        """One round; None when another process holds the lease."""
        if not await self._lease():
            self._verify.clear()  # the holder does the checking
            return None
        cass = self.dbs.cassandra
        now = time.time()
        mark = await reconciler_lease.watermark(cass)
        first = max(mark, slot_of(now - HORIZON_S)) if mark else slot_of(now - FIRST_SCAN_S)
        found = await write_intents.scan(cass, first, slot_of(now + SKEW_S))
        open_intents = [i for i in found if not i.done]
        stale = {i.intent_id: i for i in open_intents if now - i.created >= self.repair_age_s}
        for key, intent in self._verify.items():
            stale.setdefault(key, intent)
        report = await repair(
            self.dbs, list(stale.values()), open_intents, self._snapshot, self._lease
        )
        closed = {i.intent_id for i in report.closed}
        await write_intents.finish(cass, [i for i in report.closed if not i.done])
        worked = {i.intent_id for i in stale.values()} - closed
        self._verify = {k: i for k, i in stale.items() if k in worked}
        # Everything before the oldest minute still holding an open intent is clean; writers
        # with a slow clock may still add to recent minutes, so stay behind the repair age.
        still_open = [i.slot for i in open_intents if i.intent_id not in closed]
        safe = slot_of(now - self.repair_age_s - SKEW_S - SLOT_S)
        clean = min([safe, *still_open])
        if clean > mark:
            await reconciler_lease.move_watermark(cass, clean)
        self.rounds += 1
        self.last = report
        if report.fixed or report.busy_cells:
            log.info(
                "reconciler: %d open intents repaired, %d fixes, %d busy cells left, %d closed",
                report.intents,
                report.fixed,
                report.busy_cells,
                len(report.closed),
            )
        return report

    # -- background task ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reconciler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.holding:
            # Let another process take over at once instead of after the TTL.
            with contextlib.suppress(Exception):
                await reconciler_lease.release(self.dbs.cassandra, self.holder)
            self.holding = False

    async def _run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.run_once()
            except LeaseLost:
                self.holding = False
            except Exception as exc:
                # Cassandra or MongoDB down: say it once, try again next interval.
                if not failing:
                    log.warning("reconciler round failed, retrying: %s", exc)
                failing = True
            else:
                failing = False
