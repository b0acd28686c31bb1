"""`sigma-graphql create-admin`: the first administrator, and the way back in;
`sigma-graphql login-attempts`: attempts on unknown e-mails by client address."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from db.drivers.handles import Databases
from sigma_graphql.core.settings import Settings
from tests.auth_support import (
    ME,
    auth_api_fixture,  # noqa: F401 (fixture auth_api)
    auth_server_fixture,  # noqa: F401 (fixture auth_server)
    login,
    unique_email,
)
from tests.support import Api, Factory

ROOT = Path(__file__).resolve().parent.parent


def create_admin(settings: Settings, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    return cli(settings, "create-admin", *args, password=password)


def cli(
    settings: Settings, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SIGMA_ENV": "test",
        "SIGMA_MONGO_URI": settings.mongo_uri,
        "SIGMA_MONGO_DB": settings.mongo_db,
        "SIGMA_CASSANDRA_CONTACT_POINTS": ",".join(settings.cassandra_contact_points),
        "SIGMA_CASSANDRA_PORT": str(settings.cassandra_port),
        "SIGMA_CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
    }
    if password is not None:
        env["SIGMA_ADMIN_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "sigma_graphql.commands.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_create_admin_then_reset_its_password(
    migrated: Settings, api: Api, dbs: Databases, factory: Factory
) -> None:
    email = f"kepala-{uuid.uuid4().hex[:8]}@sigma.go.id"
    first = create_admin(
        migrated, "--email", email, "--nama", "Kepala Dinas", password="es-cendol-dawet-1"
    )
    assert first.returncode == 0, first.stderr
    assert f"created ADMIN account {email}" in first.stdout
    doc = await dbs.mongo["users"].find_one({"email_lower": email})
    assert doc is not None and doc["role"] == "ADMIN" and doc["account_status"] == "ACTIVE"
    assert "es-cendol-dawet-1" not in first.stdout + first.stderr
    session = (await login(api, email, "es-cendol-dawet-1"))["token"]
    assert (await api.as_(session)(ME)).ok()["me"]["role"] == "ADMIN"

    again = create_admin(migrated, "--email", email.upper(), password="klepon-pandan-22")
    assert again.returncode == 0, again.stderr
    assert "reset the password" in again.stdout
    assert await dbs.mongo["users"].count_documents({"email_lower": email}) == 1
    assert (await api.as_(session)(ME)).ok()["me"] is None  # its sessions ended
    assert (await login(api, email, "es-cendol-dawet-1"))["token"] is None
    assert (await login(api, email, "klepon-pandan-22"))["token"]


async def test_create_admin_refuses_weak_passwords_and_other_accounts(
    migrated: Settings, factory: Factory, dbs: Databases
) -> None:
    weak = create_admin(migrated, "--email", "baru@sigma.go.id", password="password123")
    assert weak.returncode == 2 and "password" in weak.stderr
    owner = await factory.account("UMKM_OWNER")
    taken = create_admin(migrated, "--email", owner.doc["email"], password="gudeg-jogja-manis-3")
    assert taken.returncode == 1 and "UMKM_OWNER" in taken.stderr
    stored = await dbs.mongo["users"].find_one({"_id": owner.id})
    assert stored is not None and stored["role"] == "UMKM_OWNER"
    assert await dbs.mongo["users"].count_documents({"email_lower": "baru@sigma.go.id"}) == 0


async def test_login_attempts_lists_unknown_emails_of_one_address(
    migrated: Settings, auth_api: Api
) -> None:
    address = auth_api.headers["X-Forwarded-For"]
    tried = [unique_email("tebak") for _ in range(2)]
    for email in tried:
        failed = await login(auth_api, email, "tebakan-acak-123")
        assert failed["token"] is None
    listed = cli(migrated, "login-attempts", "--address", address)
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [line[1] for line in lines] == [e.lower() for e in reversed(tried)]  # newest first
    other = cli(migrated, "login-attempts", "--address", address, "--month", "200001")
    assert other.returncode == 0 and other.stdout == ""
    bad = cli(migrated, "login-attempts", "--address", address, "--month", "2026-11")
    assert bad.returncode == 2 and "YYYYMM" in bad.stderr
