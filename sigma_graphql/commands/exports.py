"""`sigma-graphql clean-exports`: deletes expired export jobs and their files
(db/maintenance/export_cleanup.py). Safe while the API serves traffic; run it daily."""

from __future__ import annotations

import argparse
import asyncio

from db.drivers.handles import Databases
from db.maintenance.export_cleanup import clean_exports
from sigma_graphql.commands.command import Command, no_arguments
from sigma_graphql.core.settings import Settings


async def _clean(settings: Settings) -> None:
    dbs = Databases.open(settings)
    try:
        print(await clean_exports(dbs))
    finally:
        await dbs.close()


def _run_clean(args: argparse.Namespace, settings: Settings) -> int:
    del args
    asyncio.run(_clean(settings))
    return 0


CLEAN_EXPORTS = Command(
    "delete export jobs past SIGMA_EXPORT_RETENTION_S and their files", no_arguments, _run_clean
)
