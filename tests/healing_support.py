"""Helpers for the self-healing tests: wait until a condition holds while the reconciler of a
live server (the `healer` fixture, conftest.py) repairs what a fault left."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from db import write_intents
from db.drivers.handles import Databases
from sigma_graphql.server.reconciler import Reconciler
from tests.support import LiveServer

# The promise: exact again within 60 s of the fault, with no operator action.
HEAL_WITHIN_S = 60.0
# What the healer runs with: tiny ages so a test takes seconds, not the production 20 s.
HEALER_SETTINGS = {
    "reconcile_interval_s": 0.2,
    "intent_repair_age_s": 0.5,
    "reconcile_lease_s": 5,
}


def reconciler_of(server: LiveServer) -> Reconciler:
    found: Reconciler = server.app.state.reconciler
    return found


async def holds(check: Callable[[], Awaitable[None]]) -> bool:
    try:
        await check()
    except AssertionError:
        return False
    return True


async def until_healed(check: Callable[[], Awaitable[None]], since: float) -> float:
    """Waits until `check` stops raising AssertionError; returns seconds since `since` (the
    fault). Fails after HEAL_WITHIN_S with check's own error."""
    while not await holds(check):
        if time.monotonic() - since > HEAL_WITHIN_S:
            await check()  # raises the mismatch
        await asyncio.sleep(0.1)
    return time.monotonic() - since


async def rounds_pass(server: LiveServer, n: int) -> None:
    """Waits until the healer's reconciler has completed `n` more rounds as lease holder."""
    rec = reconciler_of(server)
    target = rec.rounds + n
    for _ in range(6000):  # a condition, not a timing threshold
        if rec.rounds >= target:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the reconciler stopped running rounds")


async def open_intents(dbs: Databases, umkm_id: object) -> list[write_intents.Intent]:
    now = time.time()
    found = await write_intents.scan(
        dbs.cassandra, write_intents.slot_of(now - 3600), write_intents.slot_of(now + 60)
    )
    return [i for i in found if i.umkm_id == umkm_id and not i.done]


async def until_closed(server: LiveServer, dbs: Databases, umkm_id: object) -> int:
    """Rounds of the healer until the UMKM has no open intent (a repaired intent closes after a
    round that finds nothing more to fix); fails after 50 rounds."""
    for n in range(50):
        if not await open_intents(dbs, umkm_id):
            return n
        await rounds_pass(server, 1)
    raise AssertionError(f"intents of {umkm_id} still open: {await open_intents(dbs, umkm_id)}")
