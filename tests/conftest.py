"""Session fixtures: a fresh keyspace and Mongo database on the real servers, a live server.

`make test` starts the servers (ports from SIGMA_* variables, see the Makefile) and runs pytest.
Each pytest session uses its own keyspace and database, so parallel runs do not collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from db.drivers.handles import Databases
from db.maintenance.migrations import migrate_all
from sigma_graphql.core.settings import Settings, load_settings
from tests.fault_services import DedicatedServices
from tests.mailbox import Mailbox
from tests.support import Api, Factory, LiveServer, drop_keyspace, drop_mongo_database, free_port

RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="session")
def base_settings(mailbox: Mailbox) -> Settings:
    env = dict(os.environ)
    env.setdefault("SIGMA_MONGO_URI", "mongodb://127.0.0.1:27018")
    env.setdefault("SIGMA_CASSANDRA_PORT", "19042")
    env["SIGMA_ENV"] = "test"
    env["SIGMA_MONGO_DB"] = f"t_{RUN}"
    env["SIGMA_CASSANDRA_KEYSPACE"] = f"t_{RUN}"
    env["SIGMA_EXPOSE_ROUND_TRIPS"] = "true"
    # Tests write straight into the databases and read back at once, which the API never does;
    # the public answer cache has its own tests (tests/test_response_cache.py).
    env["SIGMA_PUBLIC_CACHE_TTL_S"] = "0"
    # Shared budgets lease from MongoDB now and then (an extra round trip in whichever request
    # renews the lease), which would blur the exact round-trip counts many tests assert;
    # tests/test_shared_budget.py switches them on.
    env["SIGMA_BUDGET_SHARED"] = "false"
    # The reconciler repairs writes left open by faults; tests/test_self_healing.py runs it.
    # Elsewhere it would race tests that take the databases away or call the rebuild.
    env["SIGMA_RECONCILE_INTERVAL_S"] = "0"
    env["SIGMA_SMTP_HOST"] = "127.0.0.1"
    env["SIGMA_SMTP_PORT"] = str(mailbox.port)
    # The event broker (issue 17) started by `make test` (TEST_NATS_PORT); subjects of this
    # session only, so parallel sessions on one NATS do not hear each other.
    env.setdefault("SIGMA_NATS_URL", "nats://127.0.0.1:14222")
    env["SIGMA_NATS_SUBJECT_PREFIX"] = f"t_{RUN}"
    return load_settings(env)


@pytest.fixture(scope="session")
async def migrated(base_settings: Settings) -> AsyncIterator[Settings]:
    try:
        await migrate_all(base_settings)
    except Exception as exc:  # pragma: no cover - environment problem, say it plainly
        pytest.exit(
            f"databases not reachable (run `make test`, or `make test-services`): {exc}",
            returncode=3,
        )
    yield base_settings
    # This session's throw-away keyspace and database: dropping them keeps a long-running
    # development Cassandra from accumulating thousands of tables.
    await drop_test_data(base_settings)


async def drop_test_data(settings: Settings) -> None:
    import asyncio

    await asyncio.get_running_loop().run_in_executor(None, drop_keyspace, settings)
    await drop_mongo_database(settings)


@pytest.fixture(scope="session")
def server(migrated: Settings) -> Iterator[LiveServer]:
    live = LiveServer(migrated).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def server_factory(migrated: Settings) -> Iterator[Callable[..., LiveServer]]:
    """Extra servers with changed settings (small limits, short windows...)."""
    started: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        live = LiveServer(migrated.with_overrides(**overrides)).start()
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


@pytest.fixture
def healer(migrated: Settings) -> Iterator[LiveServer]:
    """A server whose reconciler repairs open intents within a second (tests/healing_support):
    started by the test that needs it and stopped after, so no other test races it."""
    from tests.healing_support import HEALER_SETTINGS

    live = LiveServer(migrated.with_overrides(**HEALER_SETTINGS)).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def api(server: LiveServer) -> Api:
    return Api(server)


@pytest.fixture(scope="session")
async def dbs(migrated: Settings) -> AsyncIterator[Databases]:
    handles = Databases.open(migrated)
    yield handles
    await handles.close()


@pytest.fixture(scope="session")
def factory(dbs: Databases) -> Factory:
    return Factory(dbs)


@pytest.fixture(scope="session")
def fault_services() -> Iterator[DedicatedServices]:
    """A database pair of its own for tests that kill, pause and restart databases (started on
    first use, shared by those tests)."""
    pair = DedicatedServices()
    try:
        yield pair.up()
    finally:
        pair.remove()


@pytest.fixture(scope="session")
async def fault_settings(
    fault_services: DedicatedServices, base_settings: Settings
) -> AsyncIterator[Settings]:
    """base_settings pointed at the dedicated pair, migrated."""
    settings = fault_services.settings(base_settings)
    await migrate_all(settings)
    yield settings


@pytest.fixture(scope="session")
def explorer_assets() -> None:
    """The explorer's npm packages (tests/test_explorer*.py), installed by the project's own
    script when missing; a no-op while its cache matches the lockfile (`make test` runs it too)."""
    import subprocess
    from pathlib import Path

    subprocess.run([str(Path(__file__).resolve().parents[1] / ".ci" / "explorer.sh")], check=True)


# `make test` runs the suite on two pytest-xdist workers (`-n 2`), a module at a time: each
# module stays on one worker, so its module fixtures (a seeded data set, a server with special
# settings) are built once. The modules of the dedicated database pair (`fault_services`) share
# one unit of work, so only one worker starts that pair.
FAULT_PAIR_MODULES = frozenset({"tests/test_fault_durability.py", "tests/test_fault_recovery.py"})


# The longest units of work (measured with --durations, about 40-170 s each on a busy 2-core
# machine) go first, so that no worker is left with one at the end while the other idles.
LONGEST_FIRST = (
    "fault pair",
    "tests/test_fuzz_schema.py",
    "tests/test_analytics_api.py",
    "tests/test_financial_aggregates.py",
    "tests/test_financial_queries.py",
    "tests/test_umkm_withdrawal.py",
    "tests/test_self_healing.py",
    "tests/test_flagged_count.py",
    "tests/test_seed.py",
    "tests/test_explorer_browser.py",
)


def _unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its module, or the dedicated pair's group."""
    path = nodeid.split("::", 1)[0]
    return "fault pair" if path in FAULT_PAIR_MODULES else path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_unit(item.nodeid), len(rank)))  # stable
    for item in items:
        uses_pair = "fault_services" in getattr(item, "fixturenames", ())
        if uses_pair and _unit(item.nodeid) != "fault pair":
            raise pytest.UsageError(
                f"{item.nodeid} uses the dedicated pair: add its module to FAULT_PAIR_MODULES"
            )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    config.option.loadscopereorder = False  # units in collection order: LONGEST_FIRST first
    return ByModule(config, log)
