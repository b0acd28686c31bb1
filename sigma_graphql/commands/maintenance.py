"""Maintenance commands: recompute aggregates, finish half-written verification decisions.

Both are idempotent and safe while the API serves traffic; the reconciler runs the same repairs
for writes it knows of (docs/architecture.md, "Two databases, one write order"), these commands
cover writes that bypassed the API.
"""

from __future__ import annotations

import argparse
import asyncio

from db.drivers.handles import Databases
from db.maintenance.rebuild import rebuild_aggregates
from db.maintenance.verification_repair import repair_verification
from sigma_graphql.commands.command import Command, no_arguments
from sigma_graphql.core.settings import Settings


async def _rebuild(settings: Settings) -> None:
    dbs = Databases.open(settings)
    try:
        print(await rebuild_aggregates(dbs))
    finally:
        await dbs.close()


async def _repair(settings: Settings) -> None:
    dbs = Databases.open(settings)
    try:
        print(await repair_verification(dbs))
    finally:
        await dbs.close()


def _run_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    del args
    asyncio.run(_rebuild(settings))
    return 0


def _run_repair(args: argparse.Namespace, settings: Settings) -> int:
    del args
    asyncio.run(_repair(settings))
    return 0


REBUILD_AGGREGATES = Command(
    "recompute dashboards, quarter totals and summaries from the logs and profiles",
    no_arguments,
    _run_rebuild,
)
REPAIR_VERIFICATION = Command(
    "recreate missing verification tasks and finish half-done decisions",
    no_arguments,
    _run_repair,
)
