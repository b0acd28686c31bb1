"""Login protection: rolling-window limits per account and per address, refused statuses,
login history, rehash on login, CSRF rules for the session cookie."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from argon2 import PasswordHasher
from starlette.requests import Request

from db.drivers.handles import Databases
from sigma_graphql.core.passwords import needs_rehash
from sigma_graphql.request.context import resolve_viewer
from tests.auth_support import (
    HISTORY,
    LOGOUT,
    ME,
    addr,
    auth_api_fixture,  # noqa: F401 (fixture auth_api)
    auth_server_fixture,  # noqa: F401 (fixture auth_server)
    codes,
    from_addr,
    login,
)
from tests.support import Api, Factory, LiveServer


async def test_sixth_attempt_refused_with_the_right_password(
    auth_api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    email = owner.doc["email"]
    for _ in range(5):
        failed = await login(auth_api, email, "bukan-password-nya")
        assert failed["token"] is None and codes(failed) == ["INVALID"]
    # The 6th attempt inside the (15-minute) window is refused even with the right password.
    for _ in range(3):
        assert codes(await login(auth_api, email, "masih-salah-juga")) == ["RATE_LIMITED"]
    limited = await login(auth_api, email, owner.password)
    assert limited["token"] is None and limited["user"] is None
    assert limited["userErrors"] == [
        {
            "field": None,
            "message": "Terlalu banyak percobaan masuk yang gagal, coba lagi nanti",
            "code": "RATE_LIMITED",
        }
    ]
    # Refused attempts write nothing: the window is not extended by hammering.
    rows = await dbs.cassandra.execute(
        "SELECT attempt FROM login_failures WHERE scope = ? AND subject = ?",
        ("account", email.lower()),
    )
    assert len(rows) == 5


async def test_the_window_expires_by_itself(
    server_factory: Callable[..., LiveServer], factory: Factory
) -> None:
    window = 4
    server = server_factory(login_window_s=window, trusted_proxy_header="x-forwarded-for")
    api = Api(server, headers={"X-Forwarded-For": addr()})
    owner = await factory.account("UMKM_OWNER")
    email = owner.doc["email"]
    started = time.monotonic()
    failures = await asyncio.gather(*(login(api, email, f"keliru-{i}-xxxx") for i in range(5)))
    assert [codes(f) for f in failures] == [["INVALID"]] * 5
    limited = await login(api, email, owner.password)
    if time.monotonic() - started < window:  # a loaded machine may take longer than the window
        assert codes(limited) == ["RATE_LIMITED"]
    await asyncio.sleep(window + 0.5)  # every failure row's TTL has run out
    assert (await login(api, email, owner.password))["token"]


async def test_address_and_account_limits_are_independent(auth_api: Api, factory: Factory) -> None:
    victim = await factory.account("UMKM_OWNER")
    # One address tries five different (unknown) e-mails: the address is used up...
    noisy = auth_api
    for i in range(5):
        assert codes(await login(noisy, f"tebak-{i}-{addr()}@contoh.id", "x" * 12)) == ["INVALID"]
    blocked = await login(noisy, victim.doc["email"], victim.password)
    assert codes(blocked) == ["RATE_LIMITED"]
    # ...but the account is not: from another address it signs in.
    assert (await login(from_addr(auth_api, addr()), victim.doc["email"], victim.password))["token"]

    # Five addresses each fail once on one account: the account is used up everywhere...
    target = await factory.account("PEJABAT")
    for _ in range(5):
        failed = await login(from_addr(auth_api, addr()), target.doc["email"], "salah-terus-1")
        assert codes(failed) == ["INVALID"]
    fresh = from_addr(auth_api, addr())
    assert codes(await login(fresh, target.doc["email"], target.password)) == ["RATE_LIMITED"]
    # ...while those addresses still serve other accounts (their own limit is far from used).
    other = await factory.account("UMKM_OWNER")
    assert (await login(fresh, other.doc["email"], other.password))["token"]


async def test_parallel_guesses_cannot_beat_the_limit(auth_api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    guesses = await asyncio.gather(
        *(login(auth_api, owner.doc["email"], f"tebakan-ke-{i}-xx") for i in range(12))
    )
    outcomes = [codes(g) for g in guesses]
    assert outcomes.count(["INVALID"]) <= 5
    assert outcomes.count(["INVALID"]) + outcomes.count(["RATE_LIMITED"]) == 12
    # However the burst interleaved, no more than five guesses were checked.
    if outcomes.count(["INVALID"]) == 5:
        assert codes(await login(auth_api, owner.doc["email"], owner.password)) == ["RATE_LIMITED"]


async def test_unverified_suspended_and_unknown_get_one_message(
    auth_api: Api, factory: Factory
) -> None:
    unverified = await factory.account("UMKM_OWNER", status="UNVERIFIED", session=False)
    suspended = await factory.account("UMKM_OWNER", status="SUSPENDED", session=False)
    active = await factory.account("UMKM_OWNER", session=False)
    attempts = [
        (unverified.doc["email"], unverified.password),
        (suspended.doc["email"], suspended.password),
        (active.doc["email"], "kata-sandi-keliru"),
        ("tidak-terdaftar@contoh.id", "kata-sandi-keliru"),
    ]
    english = Api(auth_api.server, headers={"X-Forwarded-For": addr(), "Accept-Language": "en"})
    for api, message in ((auth_api, "Email atau password salah"), (english, None)):
        for email, password in attempts[:2] if message is None else attempts:
            payload = await login(api, email, password)
            assert payload["token"] is None and payload["user"] is None
            expected = message or "Incorrect email or password"
            assert payload["userErrors"] == [
                {"field": None, "message": expected, "code": "INVALID"}
            ]


async def test_login_history_newest_first_self_or_admin(
    auth_api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    email = owner.doc["email"]
    address = auth_api.headers["X-Forwarded-For"]
    ua = {"User-Agent": "SigmaTest/1.0 (Android)"}
    await auth_api(
        "mutation($e:String!,$p:String!){login(input:{email:$e,password:$p}){token}}",
        {"e": email, "p": "keliru-sekali-1"},
        headers=ua,
    )
    token = (await login(auth_api, email, owner.password))["token"]
    history = (await auth_api.as_(token)(HISTORY, {"first": 10})).ok()["loginHistory"]
    assert [h["success"] for h in history] == [True, False]
    assert history[0]["at"] > history[1]["at"]
    assert {h["ipAddress"] for h in history} == {address}
    assert history[1]["deviceInfo"] == "SigmaTest/1.0 (Android)"
    one = (await auth_api.as_(token)(HISTORY, {"first": 1})).ok()["loginHistory"]
    assert len(one) == 1 and one[0]["success"] is True

    stranger = await factory.account("UMKM_OWNER")
    pejabat = await factory.account("PEJABAT")
    admin = await factory.account("ADMIN")
    for viewer in (stranger, pejabat):
        denied = await auth_api.as_(viewer.token)(HISTORY, {"id": owner.gid})
        assert denied.error_codes == ["FORBIDDEN"]
    seen = (await auth_api.as_(admin.token)(HISTORY, {"id": owner.gid})).ok()["loginHistory"]
    assert [h["success"] for h in seen] == [True, False]
    assert (await auth_api(HISTORY, {})).error_codes == ["UNAUTHENTICATED"]
    bad_first = await auth_api.as_(token)(HISTORY, {"first": 0})
    assert bad_first.error_codes == ["BAD_USER_INPUT"]


async def test_password_hash_is_renewed_when_parameters_change(
    auth_api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER", session=False)
    old_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(owner.password)
    assert needs_rehash(old_hash)
    await dbs.mongo["users"].update_one({"_id": owner.id}, {"$set": {"password_hash": old_hash}})
    assert (await login(auth_api, owner.doc["email"], owner.password))["token"]
    stored = await dbs.mongo["users"].find_one({"_id": owner.id})
    assert stored is not None and stored["password_hash"] != old_hash
    assert not needs_rehash(stored["password_hash"])
    # The renewed hash still verifies.
    assert (await login(auth_api, owner.doc["email"], owner.password))["token"]


async def test_cookie_does_not_authenticate_form_or_text_posts(
    auth_api: Api, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    cookies = {"session_token": owner.token}
    async with auth_api.http() as http:
        http.cookies.update(cookies)
        # A cross-site form can send these content types without a CORS preflight.
        form = await http.post("/graphql", data={"query": LOGOUT})
        text = await http.post(
            "/graphql",
            content=f'{{"query": "{LOGOUT}"}}',
            headers={"Content-Type": "text/plain"},
        )
        for resp in (form, text):
            body = resp.text
            assert '"ok":true' not in body.replace(" ", "")
        # The session is intact: neither request acted as the user.
        me = await http.post("/graphql", json={"query": ME})
        assert me.json()["data"]["me"]["id"] == owner.gid
        # GET may read with the cookie, but never mutate.
        get_mutation = await http.get("/graphql", params={"query": LOGOUT})
        assert '"ok":true' not in get_mutation.text.replace(" ", "")
    assert (await auth_api.as_(owner.token)(ME)).ok()["me"]["id"] == owner.gid


def _request(method: str, content_type: str | None, cookie: str) -> Request:
    headers = [(b"cookie", f"session_token={cookie}".encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    scope = {"type": "http", "method": method, "path": "/graphql", "headers": headers}
    return Request(scope)


async def test_viewer_ignores_the_cookie_on_non_json_posts(
    factory: Factory, dbs: Databases
) -> None:
    # Whatever the GraphQL view accepts in the future, the context never trusts the cookie
    # of a POST that a cross-site form could send.
    owner = await factory.account("UMKM_OWNER")
    for content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        None,
    ):
        viewer = await resolve_viewer(_request("POST", content_type, owner.token), dbs)
        assert viewer.is_public, content_type
    json_post = await resolve_viewer(_request("POST", "application/json", owner.token), dbs)
    assert json_post.user_id == owner.id and json_post.via_cookie
    get = await resolve_viewer(_request("GET", None, owner.token), dbs)
    assert get.user_id == owner.id
