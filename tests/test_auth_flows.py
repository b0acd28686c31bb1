"""Sign-up, e-mail verification, login with cookie and bearer, logout, password flows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from db.drivers.handles import Databases
from tests.auth_support import (
    CHANGE,
    LOGIN,
    LOGOUT,
    ME,
    PASSWORD,
    REGISTER,
    REQUEST_RESET,
    RESEND,
    RESET,
    VERIFY,
    auth_api_fixture,  # noqa: F401 (fixture auth_api)
    auth_server_fixture,  # noqa: F401 (fixture auth_server)
    codes,
    fields,
    login,
    mailed_token,
    register_input,
    token_from,
    unique_email,
    unique_nik,
)
from tests.mailbox import Mailbox
from tests.support import Account, Api, Factory, LiveServer, free_port


async def test_register_verify_login_cookie_and_bearer_me_logout(
    auth_api: Api, mailbox: Mailbox, dbs: Databases
) -> None:
    data = register_input()
    email = data["email"]
    resp = await auth_api(REGISTER, {"input": data})
    payload = resp.ok()["register"]
    assert payload["userErrors"] == []
    user = payload["user"]
    assert user["accountStatus"] == "UNVERIFIED" and user["role"] == "UMKM_OWNER"
    assert user["email"] == email and user["nik"] == data["nik"]
    stored = await dbs.mongo["users"].find_one({"email_lower": email.lower()})
    assert stored is not None and stored["password_hash"].startswith("$argon2id$")
    assert stored["expires_at"] > datetime.now(UTC) + timedelta(days=6, hours=23)

    mail = (await mailbox.wait_for(email))[0]
    link = mail.links()[0]
    assert link.startswith("http://127.0.0.1:8000/verify-email?token=")

    # Not verified yet: the same answer as a wrong password.
    early = await login(auth_api, email, PASSWORD)
    assert early["token"] is None and codes(early) == ["INVALID"]
    assert early["userErrors"][0]["message"] == "Email atau password salah"

    verified = (await auth_api(VERIFY, {"t": token_from(link)})).ok()["verifyEmail"]
    assert verified == {"ok": True, "userErrors": []}
    again = (await auth_api(VERIFY, {"t": token_from(link)})).ok()["verifyEmail"]
    assert again["ok"] is False and again["userErrors"][0]["code"] == "NOT_FOUND"

    async with auth_api.http() as http:
        headers = {"X-Forwarded-For": auth_api.headers["X-Forwarded-For"]}
        r = await http.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": email.upper(), "password": PASSWORD}},
            headers=headers,
        )
        body = r.json()["data"]["login"]
        token = body["token"]
        assert token and body["user"]["email"] == email and body["expiresAt"]
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"session_token={token};")
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered and "max-age=86400" in lowered
        assert "secure" not in lowered  # test environment runs over plain http

        # The cookie alone authenticates a JSON POST.
        me = await http.post("/graphql", json={"query": ME}, headers=headers)
        assert me.json()["data"]["me"]["email"] == email
        # Bearer works too.
        by_bearer = (await auth_api.as_(token)(ME)).ok()["me"]
        assert by_bearer["id"] == user["id"] and by_bearer["accountStatus"] == "ACTIVE"

        out = await http.post("/graphql", json={"query": LOGOUT}, headers=headers)
        assert out.json()["data"]["logout"]["ok"] is True
        assert 'session_token=""' in out.headers["set-cookie"]
        assert "max-age=0" in out.headers["set-cookie"].lower()
    assert (await auth_api.as_(token)(ME)).ok()["me"] is None


async def test_register_reports_every_violation_and_writes_nothing(
    auth_api: Api, dbs: Databases, factory: Factory
) -> None:
    bad = register_input(
        namaLengkap="Al",
        nik="12345",
        email="bukan-email",
        telepon="0212345678",
        password="pendek",
        passwordConfirm="lain",
    )
    payload = (await auth_api(REGISTER, {"input": bad})).ok()["register"]
    assert payload["user"] is None
    assert fields(payload) == {
        "input.namaLengkap",
        "input.nik",
        "input.email",
        "input.telepon",
        "input.password",
        "input.passwordConfirm",
    }
    assert set(codes(payload)) == {"TOO_SHORT", "INVALID", "MISMATCH"}
    assert await dbs.mongo["users"].count_documents({"nik": "12345"}) == 0

    email = unique_email()
    common = register_input(email=email, password="password123", passwordConfirm="password123")
    payload = (await auth_api(REGISTER, {"input": common})).ok()["register"]
    assert codes(payload) == ["WEAK_PASSWORD"] and fields(payload) == {"input.password"}
    same = register_input(email=email, password=email.upper(), passwordConfirm=email.upper())
    payload = (await auth_api(REGISTER, {"input": same})).ok()["register"]
    assert codes(payload) == ["WEAK_PASSWORD"]
    assert await dbs.mongo["users"].count_documents({"email_lower": email.lower()}) == 0

    # E-mail (case-insensitively) and NIK are unique; both reported at once.
    owner = await factory.account("UMKM_OWNER")
    taken = register_input(email=owner.doc["email"].upper(), nik=owner.doc["nik"])
    payload = (await auth_api(REGISTER, {"input": taken})).ok()["register"]
    assert sorted(codes(payload)) == ["TAKEN", "TAKEN"]
    assert fields(payload) == {"input.email", "input.nik"}

    # English messages on request; +628 numbers with spaces are accepted.
    en = (
        await auth_api(
            REGISTER,
            {"input": register_input(telepon="+62 812-3456-7890", passwordConfirm="x")},
            headers={"Accept-Language": "en"},
        )
    ).ok()["register"]
    assert en["userErrors"] == [
        {
            "field": ["input", "passwordConfirm"],
            "message": "Password confirmation does not match",
            "code": "MISMATCH",
        }
    ]


async def test_expired_unverified_signup_frees_email_and_nik(
    auth_api: Api, dbs: Databases, mailbox: Mailbox
) -> None:
    first = register_input()
    assert (await auth_api(REGISTER, {"input": first})).ok()["register"]["userErrors"] == []
    await mailbox.wait_for(first["email"])
    # Before expiry both are taken.
    again = (await auth_api(REGISTER, {"input": dict(first)})).ok()["register"]
    assert sorted(codes(again)) == ["TAKEN", "TAKEN"]
    await dbs.mongo["users"].update_one(
        {"email_lower": first["email"].lower()},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    # Gone for logins, even once verified... the old link no longer activates anything.
    old_token = await mailed_token(mailbox, first["email"])
    late = (await auth_api(VERIFY, {"t": old_token})).ok()["verifyEmail"]
    assert late["ok"] is False
    second = dict(first, namaLengkap="Pendaftar Baru")
    payload = (await auth_api(REGISTER, {"input": second})).ok()["register"]
    assert payload["userErrors"] == [] and payload["user"]["nama"] == "Pendaftar Baru"
    assert await dbs.mongo["users"].count_documents({"nik": first["nik"]}) == 1
    token = await mailed_token(mailbox, first["email"], 2)
    assert (await auth_api(VERIFY, {"t": token})).ok()["verifyEmail"]["ok"] is True
    assert (await login(auth_api, first["email"], PASSWORD))["token"]


async def test_resend_verification_is_always_ok(
    auth_api: Api, mailbox: Mailbox, factory: Factory
) -> None:
    data = register_input()
    await auth_api(REGISTER, {"input": data})
    await mailbox.wait_for(data["email"])
    resent = (await auth_api(RESEND, {"e": data["email"].upper()})).ok()
    assert resent["resendVerificationEmail"] == {"ok": True, "userErrors": []}
    second = await mailed_token(mailbox, data["email"], 2)
    assert (await auth_api(VERIFY, {"t": second})).ok()["verifyEmail"]["ok"] is True

    # Unknown and already active accounts: the same answer, and no mail.
    active = await factory.account("UMKM_OWNER")
    for email in ("tidak-ada@contoh.id", active.doc["email"]):
        payload = (await auth_api(RESEND, {"e": email})).ok()["resendVerificationEmail"]
        assert payload == {"ok": True, "userErrors": []}
    # A mail sent afterwards arrives; the two before it would have arrived first.
    await auth_api(RESEND, {"e": data["email"]})
    await auth_api(REQUEST_RESET, {"e": data["email"]})  # UNVERIFIED... now ACTIVE: reset mail
    await mailbox.wait_for(data["email"], 3)
    assert mailbox.to("tidak-ada@contoh.id") == [] and mailbox.to(active.doc["email"]) == []


async def test_password_reset_ends_every_session(
    auth_api: Api, mailbox: Mailbox, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    email = owner.doc["email"]
    second_session = (await login(auth_api, email, owner.password))["token"]
    assert (await auth_api(REQUEST_RESET, {"e": "nobody@contoh.id"})).ok()["requestPasswordReset"][
        "ok"
    ]
    payload = (await auth_api(REQUEST_RESET, {"e": email})).ok()["requestPasswordReset"]
    assert payload == {"ok": True, "userErrors": []}
    mail = (await mailbox.wait_for(email))[0]
    link = mail.links()[0]
    assert link.startswith("http://127.0.0.1:8000/reset-password?token=")
    token = token_from(link)

    weak = (await auth_api(RESET, {"t": token, "p": "qwerty"})).ok()["resetPassword"]
    assert weak["ok"] is False and fields(weak) == {"input.newPassword"}
    # A verification link cannot reset a password; a forged token is unknown.
    forged = (await auth_api(RESET, {"t": token + "x", "p": "nasi-goreng-pedas-7"})).ok()
    assert codes(forged["resetPassword"]) == ["NOT_FOUND"]

    new_password = "nasi-goreng-pedas-7"
    done = (await auth_api(RESET, {"t": token, "p": new_password})).ok()["resetPassword"]
    assert done == {"ok": True, "userErrors": []}
    for session in (owner.token, second_session):
        assert (await auth_api.as_(session)(ME)).ok()["me"] is None
    reused = (await auth_api(RESET, {"t": token, "p": "another-long-pass-9"})).ok()
    assert codes(reused["resetPassword"]) == ["NOT_FOUND"]
    assert (await login(auth_api, email, owner.password))["token"] is None
    assert (await login(auth_api, email, new_password))["token"]


async def test_reset_token_works_once_under_concurrency(
    auth_api: Api, mailbox: Mailbox, factory: Factory
) -> None:
    owner = await factory.account("PEJABAT")
    await auth_api(REQUEST_RESET, {"e": owner.doc["email"]})
    token = await mailed_token(mailbox, owner.doc["email"])
    results = await asyncio.gather(
        *(auth_api(RESET, {"t": token, "p": f"bakso-urat-solo-{i}"}) for i in range(6))
    )
    oks = [r.ok()["resetPassword"]["ok"] for r in results]
    assert oks.count(True) == 1


async def test_expired_links_say_expired(
    server_factory: Callable[..., LiveServer], mailbox: Mailbox, factory: Factory
) -> None:
    short = Api(server_factory(token_ttl_s=1))
    owner = await factory.account("UMKM_OWNER")
    await short(REQUEST_RESET, {"e": owner.doc["email"]})
    token = await mailed_token(mailbox, owner.doc["email"])
    await asyncio.sleep(2.5)  # the token's lifetime (1 s, whole seconds) passes
    payload = (await short(RESET, {"t": token, "p": "tempe-mendoan-enak-1"})).ok()
    assert payload["resetPassword"]["userErrors"] == [
        {"field": ["input", "token"], "message": "Tautan sudah kedaluwarsa", "code": "EXPIRED"}
    ]
    unknown = (await short(VERIFY, {"t": "tidak-pernah-ada"})).ok()["verifyEmail"]
    assert unknown["userErrors"] == [{"field": ["token"], "code": "NOT_FOUND"}]


async def test_change_password_checks_current_and_ends_other_sessions(
    auth_api: Api, factory: Factory
) -> None:
    owner: Account = await factory.account("UMKM_OWNER")
    other = (await login(auth_api, owner.doc["email"], owner.password))["token"]
    me_api = auth_api.as_(owner.token)
    wrong = (await me_api(CHANGE, {"c": "salah-sekali-123", "n": "sate-ayam-madura-9"})).ok()
    assert wrong["changePassword"]["ok"] is False
    assert fields(wrong["changePassword"]) == {"input.currentPassword"}
    weak = (await me_api(CHANGE, {"c": owner.password, "n": owner.doc["email"]})).ok()
    assert codes(weak["changePassword"]) == ["WEAK_PASSWORD"]
    assert (await auth_api.as_(other)(ME)).ok()["me"] is not None  # nothing changed yet

    new = "sate-ayam-madura-9"
    done = (await me_api(CHANGE, {"c": owner.password, "n": new})).ok()["changePassword"]
    assert done == {"ok": True, "userErrors": []}
    assert (await me_api(ME)).ok()["me"]["id"] == owner.gid  # this session stays
    assert (await auth_api.as_(other)(ME)).ok()["me"] is None  # the others end
    assert (await login(auth_api, owner.doc["email"], owner.password))["token"] is None
    assert (await login(auth_api, owner.doc["email"], new))["token"]

    public = await auth_api(CHANGE, {"c": "a", "n": "b"})
    assert public.error_codes == ["UNAUTHENTICATED"]
    assert (await auth_api(LOGOUT)).error_codes == ["UNAUTHENTICATED"]


async def test_register_is_unaffected_by_nik_of_staff(auth_api: Api) -> None:
    # Staff accounts have no NIK (sparse unique index): many of them never collide.
    data = register_input(nik=unique_nik())
    payload = (await auth_api(REGISTER, {"input": data})).ok()["register"]
    assert payload["userErrors"] == []


async def test_mail_server_down_does_not_fail_signup(
    server_factory: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    no_smtp = Api(server_factory(smtp_port=free_port()))  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="sigma_graphql.request.mailer"):
        payload = (await no_smtp(REGISTER, {"input": register_input()})).ok()["register"]
        assert payload["userErrors"] == [] and payload["user"]["accountStatus"] == "UNVERIFIED"
        for _ in range(200):  # the SMTP attempt runs after the response
            if "could not be sent" in caplog.text:
                break
            await asyncio.sleep(0.05)
    assert "could not be sent" in caplog.text
