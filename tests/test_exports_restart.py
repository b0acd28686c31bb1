"""An export job survives the death of the API process running it (issue 18).

A real `sigma-graphql serve` process starts a job and is killed (SIGKILL) in the middle of it:
the job is RUNNING with a lease nobody renews. Another API process (or the same one restarted)
takes it over once the lease lapsed and finishes it; a job abandoned MAX_ATTEMPTS times ends
FAILED with the reason. Neither stays RUNNING.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from db import export_jobs
from db.drivers.handles import Databases
from db.maintenance.migrations import migrate_mongo
from sigma_graphql.core.settings import Settings
from sigma_graphql.server.export_worker import HOLD_ENV
from tests.exports_support import START, WAIT_S, download, finished, read_csv, running_job
from tests.support import Api, Factory, LiveServer, drop_mongo_database, free_port

ROOT = Path(__file__).resolve().parent.parent
LEASE_S = 2.0
# The API process that takes jobs over: short lease and frequent scans so the test takes
# seconds (production: 30 s and 5 s).
RESUMER = {"export_lease_s": LEASE_S, "export_scan_interval_s": 0.2}


def _serve(settings: Settings, port: int, log: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SIGMA_ENV": "test",
        "SIGMA_MONGO_URI": settings.mongo_uri,
        "SIGMA_MONGO_DB": settings.mongo_db,
        "SIGMA_CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
        "SIGMA_CASSANDRA_CONTACT_POINTS": ",".join(settings.cassandra_contact_points),
        "SIGMA_CASSANDRA_PORT": str(settings.cassandra_port),
        "SIGMA_RECONCILE_INTERVAL_S": "0",
        "SIGMA_BUDGET_SHARED": "false",
        "SIGMA_EXPORT_LEASE_S": str(LEASE_S),
        HOLD_ENV: "1",
    }
    argv = [sys.executable, "-m", "sigma_graphql.commands.cli", "serve", "--port", str(port)]
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


async def _until(check: Callable[[], Any], what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        found = await check()
        if found:
            return found
        assert loop.time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def alone(migrated: Settings) -> AsyncIterator[tuple[Settings, Databases, Factory]]:
    """A MongoDB database of this test's own: the session's servers scan for jobs too (every
    5 s) and, on a busy machine, one of them took the job before the process under test did."""
    settings = migrated.with_overrides(mongo_db=f"{migrated.mongo_db}_restart")
    dbs = Databases.open(settings)
    try:
        await migrate_mongo(dbs.mongo_client, settings)
        yield settings, dbs, Factory(dbs)
    finally:
        await dbs.close()
        await drop_mongo_database(settings)


async def test_a_job_killed_with_its_process_is_finished_by_another(
    alone: tuple[Settings, Databases, Factory],
) -> None:
    migrated, dbs, factory = alone
    staff = await factory.account("ADMIN")
    kota = f"Kota Mati {uuid.uuid4().hex[:8]}"
    for _ in range(3):
        await factory.umkm(None, kota=kota)
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = _serve(migrated, port, log)
        try:
            base = f"http://127.0.0.1:{port}"

            async def healthy() -> bool:
                assert proc.poll() is None, "the server process exited"
                try:
                    async with httpx.AsyncClient(timeout=5) as http:
                        return (await http.get(f"{base}/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(healthy, "the server process answers")
            body = {
                "query": START,
                "variables": {"input": {"kind": "UMKM_REGISTRY", "filter": {"kota": kota}}},
            }
            async with httpx.AsyncClient(timeout=60) as http:
                answer = await http.post(
                    f"{base}/graphql", json=body, headers={"Authorization": f"Bearer {staff.token}"}
                )
            job_id = uuid.UUID(answer.json()["data"]["startExport"]["job"]["id"])

            seen: list[object] = []

            async def mid_job() -> bool:
                doc = await export_jobs.find(dbs.mongo, job_id)
                if doc is not None:
                    state = (doc["status"], doc.get("lease_owner"), doc["row_count"])
                    if not seen or seen[-1] != state:
                        seen.append(state)
                return bool(doc and doc["status"] == "RUNNING" and doc["row_count"] > 0)

            try:
                await _until(mid_job, "the job wrote its first page")
            except AssertionError as failed:
                # Flaky once in a full run (30 November, cause unknown): say who held the job
                # and what the server under test logged, for whoever sees it next.
                log.seek(0)
                tail = log.read().decode(errors="replace")[-4000:]
                raise AssertionError(f"{failed}; job states {seen}; server log:\n{tail}") from None
        finally:
            proc.kill()  # SIGKILL: no shutdown, no lease given back
            proc.wait(timeout=30)
        log.seek(0)
        output = log.read().decode(errors="replace")
    killed = await export_jobs.find(dbs.mongo, job_id)
    assert killed is not None, output
    assert (killed["status"], killed["attempts"], killed["file_id"]) == ("RUNNING", 1, None)

    # Started only now, as an API process restarted after the kill would be.
    resumer = LiveServer(migrated.with_overrides(**RESUMER)).start()
    try:
        job = await finished(Api(resumer), staff.token, str(job_id))
        rows = read_csv((await download(resumer, job["downloadUrl"], staff.token)).content)
    finally:
        resumer.stop()
    assert job["status"] == "SUCCEEDED", job
    assert job["rowCount"] == 3
    done = await export_jobs.find(dbs.mongo, job_id)
    assert done is not None and done["attempts"] == 2
    assert len(rows) == 3 and {r["kota"] for r in rows} == {kota}
    # Its slot was given back: the limit counts running jobs only.
    assert await export_jobs.take_slot(dbs.mongo, staff.id, uuid.uuid4(), 1)


async def test_a_job_abandoned_too_often_fails_with_the_reason(
    factory: Factory, dbs: Databases, migrated: Settings
) -> None:
    staff = await factory.account("PEJABAT")
    doc = running_job(
        staff.id,
        attempts=export_jobs.MAX_ATTEMPTS,
        lease_owner="a-process-that-died",
        lease_until=export_jobs.now_utc() - timedelta(seconds=1),
    )
    assert await export_jobs.take_slot(dbs.mongo, staff.id, doc["_id"], 1)
    await export_jobs.insert(dbs.mongo, doc)
    resumer = LiveServer(migrated.with_overrides(**RESUMER)).start()
    try:
        job = await finished(Api(resumer), staff.token, str(doc["_id"]))
    finally:
        resumer.stop()
    assert job["status"] == "FAILED"
    assert f"interrupted {export_jobs.MAX_ATTEMPTS} times" in job["error"]
    assert job["downloadUrl"] is None and job["finishedAt"] is not None
    assert await export_jobs.take_slot(dbs.mongo, staff.id, uuid.uuid4(), 1)
