"""Bounded audit data: monthly login_logs with retention, attempts on unknown e-mails by client
address, the per-recipient throttle of link mails, and the shared key of address-less logins."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from db import login_guard, login_logs
from db.drivers.handles import Databases
from sigma_graphql.core.i18n import t
from tests.auth_support import (
    HISTORY,
    REQUEST_RESET,
    RESEND,
    RESET,
    addr,
    auth_api_fixture,  # noqa: F401 (fixture auth_api)
    auth_server_fixture,  # noqa: F401 (fixture auth_server)
    codes,
    from_addr,
    login,
    mailed_token,
    unique_email,
)
from tests.mailbox import Mailbox
from tests.support import Api, Factory, LiveServer

GENERIC_FAILURE = [{"field": None, "message": "Email atau password salah", "code": "INVALID"}]
RETENTION_S = 400 * 24 * 3600
OK = {"ok": True, "userErrors": []}
EN = {"Accept-Language": "en"}


def _in_month(months_ago: int, day: int) -> datetime:
    """Noon UTC on `day` of the month `months_ago` months before the current one."""
    month = login_logs.months_back(login_logs.month_of(datetime.now(UTC)), 0)[months_ago]
    return datetime(month // 100, month % 100, day, 12, tzinfo=UTC)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _cassandra_trips(resp: Any) -> int:
    return int(resp.extensions["dbRoundTrips"]["cassandra"])


async def _schema(dbs: Databases, table: str) -> tuple[list[str], int]:
    columns = await dbs.cassandra.execute(
        "SELECT column_name, kind, position FROM system_schema.columns "
        "WHERE keyspace_name = ? AND table_name = ?",
        (dbs.cassandra.keyspace, table),
    )
    partition = [
        c["column_name"]
        for c in sorted(columns, key=lambda c: int(c["position"]))
        if c["kind"] == "partition_key"
    ]
    options = await dbs.cassandra.execute(
        "SELECT default_time_to_live FROM system_schema.tables "
        "WHERE keyspace_name = ? AND table_name = ?",
        (dbs.cassandra.keyspace, table),
    )
    return partition, int(options[0]["default_time_to_live"])


async def test_audit_tables_are_bucketed_by_month_and_expire(
    dbs: Databases, factory: Factory
) -> None:
    assert await _schema(dbs, "login_logs") == (["user_id", "month"], RETENTION_S)
    assert await _schema(dbs, "unknown_login_attempts") == (["ip_address", "month"], RETENTION_S)
    assert login_logs.RETENTION_S == RETENTION_S
    # Rows carry the retention even if the table default changed.
    owner = await factory.account("UMKM_OWNER", session=False)
    await login_logs.record(
        dbs.cassandra, owner.id, success=True, ip_address="10.9.9.9", device_info=None
    )
    month = login_logs.month_of(datetime.now(UTC))
    rows = await dbs.cassandra.execute(
        "SELECT month, TTL(success) AS ttl FROM login_logs WHERE user_id = ? AND month IN ?",
        (owner.id, [month, login_logs.previous_month(month)]),
    )
    assert len(rows) == 1 and RETENTION_S - 3600 < rows[0]["ttl"] <= RETENTION_S


def test_month_arithmetic() -> None:
    assert login_logs.month_of(datetime(2026, 1, 31, 23, 59, tzinfo=UTC)) == 202601
    assert login_logs.previous_month(202601) == 202512
    assert login_logs.months_back(202602, 202511) == [202602, 202601, 202512, 202511]
    assert login_logs.months_back(202602, 202603) == []


async def test_history_is_newest_first_across_months_and_stops_at_creation(
    auth_api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    created = _in_month(5, 1)
    await dbs.mongo["users"].update_one({"_id": owner.id}, {"$set": {"created_at": created}})
    now = datetime.now(UTC)
    moments = [
        (now - timedelta(seconds=1), True),  # current month
        (_in_month(2, 20), False),
        (_in_month(2, 3), True),
        (_in_month(5, 2), False),  # the creation month
    ]
    before_creation = _in_month(6, 15)  # cannot exist: the walk never reads that month
    for at, success in [*moments, (before_creation, True)]:
        await login_logs.record(
            dbs.cassandra, owner.id, success=success, ip_address="10.1.2.3", device_info="t", at=at
        )
    me = auth_api.as_(owner.token)
    history = (await me(HISTORY, {"first": 100})).ok()["loginHistory"]
    assert [h["success"] for h in history] == [success for _, success in moments]
    for h, (at, _) in zip(history, moments, strict=True):
        assert abs(_parse(h["at"]) - at) < timedelta(milliseconds=1)
    # `first` cuts across month partitions.
    three = (await me(HISTORY, {"first": 3})).ok()["loginHistory"]
    assert three == history[:3]

    # Round trips: one Cassandra read when the current month holds enough; otherwise one per
    # month from now back to the creation month (6 months), never more.
    one = await me(HISTORY, {"first": 1})
    assert one.ok()["loginHistory"] == history[:1]
    every = await me(HISTORY, {"first": 100})
    assert _cassandra_trips(every) - _cassandra_trips(one) == 6 - 1


async def test_history_of_a_deleted_account_stops_at_the_retention_horizon(
    auth_api: Api, factory: Factory, dbs: Databases
) -> None:
    admin = await factory.account("ADMIN")
    gone = await factory.account("UMKM_OWNER", session=False)
    await dbs.mongo["users"].delete_one({"_id": gone.id})
    now = datetime.now(UTC)
    horizon = now - timedelta(seconds=RETENTION_S)
    inside = horizon + timedelta(days=2)
    outside = horizon - timedelta(days=40)  # expired by now in real life; never read
    for at in (now - timedelta(seconds=1), inside, outside):
        await login_logs.record(
            dbs.cassandra, gone.id, success=False, ip_address=None, device_info=None, at=at
        )
    as_admin = auth_api.as_(admin.token)
    one = await as_admin(HISTORY, {"id": gone.gid, "first": 1})
    assert len(one.ok()["loginHistory"]) == 1
    every = await as_admin(HISTORY, {"id": gone.gid, "first": 100})
    assert len(every.ok()["loginHistory"]) == 2
    months = len(login_logs.months_back(login_logs.month_of(now), login_logs.month_of(horizon)))
    assert months in (14, 15)  # 400 days touch 14 or 15 calendar months
    # Every month back to the horizon was read once (the first read serves both requests).
    assert _cassandra_trips(every) - _cassandra_trips(one) == months - 1


async def test_unknown_email_attempt_is_stored_by_address_with_the_generic_answer(
    auth_api: Api, factory: Factory, dbs: Databases
) -> None:
    address = auth_api.headers["X-Forwarded-For"]
    month_before = login_logs.month_of(datetime.now(UTC))
    email = unique_email("penyerang")
    resp = await auth_api(
        "mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){"
        "user{id} token expiresAt userErrors{field message code}}}",
        {"e": email, "p": "tebakan-pertama-1"},
        headers={"User-Agent": "curl/8.0"},
    )
    payload = resp.ok()["login"]
    assert payload == {
        "user": None,
        "token": None,
        "expiresAt": None,
        "userErrors": GENERIC_FAILURE,
    }
    # A known account's failure from the same address goes to its own login_logs instead.
    owner = await factory.account("UMKM_OWNER", session=False)
    assert (await login(auth_api, owner.doc["email"], "bukan-sandinya-1"))[
        "userErrors"
    ] == GENERIC_FAILURE

    async def stored() -> list[login_logs.UnknownAttempt]:
        months = {month_before, login_logs.month_of(datetime.now(UTC))}
        found: list[login_logs.UnknownAttempt] = []
        for month in months:
            found += await login_logs.unknown_attempts(dbs.cassandra, address, month, 100)
        return found

    rows = await stored()
    assert [(r.email, r.device_info) for r in rows] == [(email.lower(), "curl/8.0")]
    assert abs((datetime.now(UTC) - rows[0].at).total_seconds()) < 3600

    # Attempts refused by the address limit test no password and are not stored: one address
    # adds at most login_max_failures rows per window.
    for i in range(3):
        failed = await login(auth_api, unique_email(f"tebak{i}"), "x" * 12)
        assert failed["userErrors"] == GENERIC_FAILURE
    for _ in range(3):
        assert codes(await login(auth_api, unique_email("lagi"), "x" * 12)) == ["RATE_LIMITED"]
    assert len(await stored()) == 4  # 1 + 3 unknown e-mails (the owner's failure is not here)


async def _sends(dbs: Databases, email: str) -> int:
    rows = await dbs.cassandra.execute(
        "SELECT attempt FROM mail_sends WHERE scope = ? AND subject = ?",
        ("recipient", email.lower()),
    )
    return len(rows)


async def test_fourth_link_mail_in_the_window_is_not_sent(
    auth_api: Api, mailbox: Mailbox, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    email = owner.doc["email"]
    for _ in range(4):
        payload = (await auth_api(REQUEST_RESET, {"e": email})).ok()["requestPasswordReset"]
        assert payload == OK  # identical, throttled or not
    await mailbox.wait_for(email, 3)
    # The 4th request was refused before anything was scheduled or written: no 4th mail comes.
    with pytest.raises(AssertionError, match="no mail #4"):
        await mailbox.wait_for(email, 4, timeout=2.0)
    assert await _sends(dbs, email) == 3
    # Resend shares the recipient's budget; unknown addresses get the same answer throughout.
    assert (await auth_api(RESEND, {"e": email.upper()})).ok()["resendVerificationEmail"] == OK
    nobody = unique_email("tidak-ada")
    for _ in range(5):
        reset = (await auth_api(REQUEST_RESET, {"e": nobody})).ok()["requestPasswordReset"]
        resend = (await auth_api(RESEND, {"e": nobody})).ok()["resendVerificationEmail"]
        assert reset == resend == OK
    assert await _sends(dbs, nobody) == 3 and mailbox.to(nobody) == []
    assert await _sends(dbs, email) == 3


async def test_link_mails_flow_again_once_the_window_passes(
    server_factory: Callable[..., LiveServer], mailbox: Mailbox, factory: Factory
) -> None:
    window = 5
    api = Api(server_factory(mail_window_s=window))
    owner = await factory.account("UMKM_OWNER")
    email = owner.doc["email"]
    started = time.monotonic()
    first = await asyncio.gather(*(api(REQUEST_RESET, {"e": email}) for _ in range(3)))
    fourth = await api(REQUEST_RESET, {"e": email})
    inside = time.monotonic() - started < window  # a loaded machine may take longer
    for resp in [*first, fourth]:
        assert resp.ok()["requestPasswordReset"] == OK
    await mailbox.wait_for(email, 3)
    await asyncio.sleep(window + 0.5)  # every send row's TTL has run out
    # The 5th asks for an English mail, so its arrival is recognisable: the 4th's mail, had it
    # been sent, would have arrived a whole window before it.
    fifth = (await api(REQUEST_RESET, {"e": email}, headers=EN)).ok()["requestPasswordReset"]
    assert fifth == OK
    english = t("auth.mail_reset_subject", "en")
    for _ in range(200):  # the 5th request's mail (English) arrives after the response
        if any(m.subject == english for m in mailbox.to(email)):
            break
        await asyncio.sleep(0.05)
    subjects = [m.subject for m in mailbox.to(email)]
    assert english in subjects
    if inside:
        assert len(subjects) == 4  # 3 + the 5th's: the 4th request sent nothing
    # The mail sent after the window carries a working link.
    token = await mailed_token(mailbox, email, len(subjects))
    done = (await api(RESET, {"t": token, "p": "gudeg-jogja-manis-7"})).ok()["resetPassword"]
    assert done == OK


def test_requests_without_address_share_one_explicit_key() -> None:
    a = login_guard.Attempt.of("a@contoh.id", None)
    b = login_guard.Attempt.of("b@contoh.id", None)
    assert a.address == b.address == login_guard.UNKNOWN_ADDRESS
    assert (login_guard.ADDRESS, login_guard.UNKNOWN_ADDRESS) in a.scopes()
    assert login_guard.Attempt.of("a@contoh.id", "10.0.0.1").address == "10.0.0.1"


async def test_forged_forwarded_entries_do_not_escape_the_address_limit(
    auth_api: Api, factory: Factory
) -> None:
    # The trusted proxy appends the peer it saw; whatever the client wrote before it is forged.
    real = auth_api.headers["X-Forwarded-For"]

    def forged(i: int) -> Api:
        return from_addr(auth_api, f"203.0.113.{i}, {real}")

    for i in range(5):
        failed = await login(forged(i), unique_email(f"palsu{i}"), "x" * 12)
        assert failed["userErrors"] == GENERIC_FAILURE
    owner = await factory.account("UMKM_OWNER", session=False)
    assert codes(await login(forged(99), owner.doc["email"], owner.password)) == ["RATE_LIMITED"]
    assert (await login(from_addr(auth_api, addr()), owner.doc["email"], owner.password))["token"]


async def test_oversized_email_gets_the_usual_answers(auth_api: Api) -> None:
    # Limit keys are clipped: Cassandra refuses partition keys over 64 KiB.
    huge = "a" * 70_000 + "@contoh.id"
    assert (await login(auth_api, huge, "x" * 12))["userErrors"] == GENERIC_FAILURE
    for _ in range(4):
        reset = (await auth_api(REQUEST_RESET, {"e": huge})).ok()["requestPasswordReset"]
        resend = (await auth_api(RESEND, {"e": huge})).ok()["resendVerificationEmail"]
        assert reset == resend == OK


async def test_refused_attempts_are_audited_up_to_the_limit_per_window(
    auth_api: Api, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    email = owner.doc["email"]
    for i in range(5):
        assert codes(await login(auth_api, email, f"salah-{i}-xxxxx")) == ["INVALID"]
    for i in range(8):  # an attack goes on: refused, and audited only five more times
        refused = await login(from_addr(auth_api, addr()), email, f"lagi-{i}-xxxxx")
        assert codes(refused) == ["RATE_LIMITED"]
    history = (await auth_api.as_(owner.token)(HISTORY, {"first": 100})).ok()["loginHistory"]
    assert [h["success"] for h in history] == [False] * 10
