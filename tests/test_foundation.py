"""Foundation: migrations, health/readiness, limits, error masking, outages and recovery."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from db.drivers.handles import Databases
from db.maintenance.migrations import migrate_all
from sigma_graphql.core.settings import Settings, SettingsError, load_settings
from tests.support import Api, LiveServer, drop_keyspace
from tests.tcpproxy import TcpProxy


async def _tables(dbs: Databases) -> set[str]:
    rows = await dbs.cassandra.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
        (dbs.settings.cassandra_keyspace,),
    )
    return {r["table_name"] for r in rows}


async def test_migrations_are_idempotent_and_complete(migrated: Settings, dbs: Databases) -> None:
    before = await _tables(dbs)
    indexes_before = await dbs.mongo["users"].index_information()
    await dbs.mongo["users"].insert_one({"_id": uuid.uuid4(), "email_lower": "keep@x.id"})
    await migrate_all(migrated)  # second run: no error, nothing dropped
    assert await _tables(dbs) == before
    assert await dbs.mongo["users"].count_documents({"email_lower": "keep@x.id"}) == 1
    assert (await dbs.mongo["users"].index_information()).keys() == indexes_before.keys()
    assert {
        "umkm_financial_log",
        "dashboard_sector_stats",
        "dashboard_region_stats",
        "login_logs",
        "temp_tokens",
        "verification_tasks",
        "flag_notifications",
    } <= before
    assert {"uniq_email_lower", "uniq_nik"} <= set(indexes_before)


async def test_migrate_refuses_a_table_whose_key_changed(migrated: Settings) -> None:
    """CREATE TABLE IF NOT EXISTS keeps an old shape silently: migrate must say so instead."""
    from db.drivers.cassandra import make_cluster
    from db.maintenance.migrations import MigrationError, migrate_cassandra

    settings = migrated.with_overrides(cassandra_keyspace=f"{migrated.cassandra_keyspace}_old")
    loop = asyncio.get_running_loop()

    def old_shape() -> None:
        cluster = make_cluster(settings)
        try:
            session = cluster.connect()
            session.execute(
                f"CREATE KEYSPACE IF NOT EXISTS {settings.cassandra_keyspace} WITH replication = "
                "{'class': 'SimpleStrategy', 'replication_factor': 1}",
                timeout=60,
            )
            session.execute(
                f"CREATE TABLE {settings.cassandra_keyspace}.login_logs (user_id uuid, "
                "login_time timeuuid, success boolean, PRIMARY KEY ((user_id), login_time))",
                timeout=60,
            )
        finally:
            cluster.shutdown()

    await loop.run_in_executor(None, old_shape)
    try:
        with pytest.raises(MigrationError, match=r"login_logs has primary key \(user_id, "):
            await loop.run_in_executor(None, migrate_cassandra, settings)
    finally:
        await loop.run_in_executor(None, drop_keyspace, settings)


async def test_unique_email_index_is_enforced_by_the_server(dbs: Databases) -> None:
    from pymongo.errors import DuplicateKeyError

    await dbs.mongo["users"].insert_one({"_id": uuid.uuid4(), "email_lower": "dup@x.id"})
    with pytest.raises(DuplicateKeyError):
        await dbs.mongo["users"].insert_one({"_id": uuid.uuid4(), "email_lower": "dup@x.id"})


async def test_health_ready_and_request_id(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        health = await http.get("/health")
        assert health.status_code == 200 and health.text == "ok"
        ready = await http.get("/ready")
        assert ready.status_code == 200
        checks = {"mongodb": "ok", "cassandra": "ok", "nats": "ok"}  # nats: issue 17
        assert ready.json() == {"ready": True, "checks": checks}
        assert len(health.headers["x-request-id"]) == 32
        echoed = await http.get("/health", headers={"X-Request-ID": "trace-123"})
        assert echoed.headers["x-request-id"] == "trace-123"


async def test_graphiql_in_development_only(server_factory: Callable[..., LiveServer]) -> None:
    dev = server_factory(graphiql=True)
    prod = server_factory(graphiql=False, introspection=False)
    async with httpx.AsyncClient() as http:
        page = await http.get(dev.url, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        closed = await http.get(prod.url, headers={"Accept": "text/html"})
        assert "graphiql" not in closed.text.lower()
    introspect = await Api(prod)("{ __schema { types { name } } }")
    assert introspect.errors


async def test_depth_alias_and_body_limits(server_factory: Callable[..., LiveServer]) -> None:
    live = server_factory(max_depth=4, max_aliases=3)
    api = Api(live)
    deep = await api("{ me { umkms { nodes { owner { umkms { nodes { id } } } } } } }")
    assert deep.error_codes == ["QUERY_TOO_COMPLEX"], deep.errors
    assert "depth" in deep.errors[0]["message"]
    aliases = await api("{ a: today b: today c: today d: today }")
    assert aliases.error_codes == ["QUERY_TOO_COMPLEX"], aliases.errors
    async with httpx.AsyncClient() as http:
        big = "x" * (3 * 1024 * 1024)
        resp = await http.post(live.url, json={"query": "{ today }", "variables": {"pad": big}})
    assert resp.status_code == 413
    body = resp.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "2097152" in body["errors"][0]["message"]


async def test_unexpected_errors_are_masked_with_request_id(
    api: Api, dbs: Databases, caplog: pytest.LogCaptureFixture
) -> None:
    # A corrupt document (no wilayah) makes the resolver fail unexpectedly.
    umkm_id = uuid.uuid4()
    await dbs.mongo["umkm_profiles"].insert_one(
        {
            "_id": umkm_id,
            "nama_usaha": "Rusak",
            "is_deleted": False,
            "legalitas": {"status_verifikasi": "VERIFIED"},
        }
    )
    try:
        with caplog.at_level(logging.ERROR, logger="sigma_graphql.core.errors"):
            resp = await api(
                "query($id: ID!) { umkm(id: $id) { id wilayah { kota } } }", {"id": str(umkm_id)}
            )
    finally:  # other tests list every VERIFIED UMKM: do not leave the corrupt one behind
        await dbs.mongo["umkm_profiles"].delete_one({"_id": umkm_id})
    assert resp.error_codes == ["INTERNAL_SERVER_ERROR"]
    err = resp.errors[0]
    assert err["message"] == "Internal server error"
    rid = err["extensions"]["requestId"]
    assert len(rid) == 32
    assert any(rid in r.getMessage() and r.exc_info for r in caplog.records)


async def test_database_outage_and_recovery(migrated: Settings) -> None:
    """Both databases down at start-up: the server starts, says what is down, then recovers."""
    cass = TcpProxy("127.0.0.1", migrated.cassandra_port)
    mongo_port = int(migrated.mongo_uri.rsplit(":", 1)[1].split("/")[0])
    mongo = TcpProxy("127.0.0.1", mongo_port)
    live = LiveServer(
        migrated.with_overrides(
            cassandra_contact_points=(f"127.0.0.1:{cass.port}",),
            mongo_uri=f"mongodb://127.0.0.1:{mongo.port}",
            mongo_timeout_ms=500,
        )
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
            ready = await http.get("/ready")
            assert ready.status_code == 503
            checks = ready.json()["checks"]
            assert checks["mongodb"] != "ok" and checks["cassandra"] != "ok"
            # Signed-in requests need MongoDB for the session lookup.
            down = await http.post(
                "/graphql",
                json={"query": "{ me { id } }"},
                headers={"Authorization": "Bearer some-token"},
            )
            assert down.status_code == 503
            error = down.json()["errors"][0]
            assert error["extensions"] == {
                "code": "SERVICE_UNAVAILABLE",
                "database": "mongodb",
                "retryAfter": 1,
            }
            assert down.headers["retry-after"] == "1"

            cass.up()
            mongo.up()
            await _eventually(lambda: http.get("/ready"), lambda r: r.status_code == 200)

            mongo.down()
            ready = await http.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["cassandra"] == "ok"
            assert ready.json()["checks"]["mongodb"] != "ok"
            mongo.up()
            await _eventually(lambda: http.get("/ready"), lambda r: r.status_code == 200)
    finally:
        live.stop()
        cass.close()
        mongo.close()


async def _eventually(
    call: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 30.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await call()
        if check(result):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met: {result}")
        await asyncio.sleep(0.5)


def test_bad_settings_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="SIGMA_PORT"):
        load_settings({"SIGMA_PORT": "eighty"})
    with pytest.raises(SettingsError, match="SIGMA_MONGO_URI"):
        load_settings({"SIGMA_MONGO_URI": "postgres://x"})
    with pytest.raises(SettingsError, match="SIGMA_SECRET_KEY"):
        load_settings({"SIGMA_ENV": "production"})
    prod = load_settings({"SIGMA_ENV": "production", "SIGMA_SECRET_KEY": "k" * 40})
    assert not prod.graphiql and not prod.introspection


def test_cli_reports_bad_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sigma_graphql.commands.cli import main

    monkeypatch.setenv("SIGMA_CASSANDRA_PORT", "99999")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SIGMA_CASSANDRA_PORT" in err[0]
