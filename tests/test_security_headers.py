"""HTTP security headers (issue 11, finding 9): every answer, signed-in answers, the explorer."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import httpx

from tests.auth_support import LOGIN
from tests.support import Factory, LiveServer

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _assert_common(response: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, response.headers)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_every_answer_carries_the_common_headers(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        answers = [
            await http.get("/health"),
            await http.get("/ready"),
            await http.post("/graphql", json={"query": "{ today }"}),
            await http.post("/graphql", json={"query": "{ noSuchField }"}),
            await http.post("/graphql", content=b"x" * (3 * 1024 * 1024)),  # 413
        ]
    assert [a.status_code for a in answers][-1] == 413
    for answer in answers:
        _assert_common(answer)
        assert (
            answer.headers["content-security-policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
    # Anonymous answers are not personal: caching them stays possible.
    assert "no-store" not in answers[2].headers.get("cache-control", "")


async def test_signed_in_answers_are_not_stored(server: LiveServer, factory: Factory) -> None:
    account = await factory.account("UMKM_OWNER")
    async with httpx.AsyncClient(base_url=server.base) as http:
        bearer = await http.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"Authorization": f"Bearer {account.token}"},
        )
        assert bearer.json()["data"]["me"]["id"] == account.gid
        cookie = await http.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"Cookie": f"session_token={account.token}"},
        )
        assert cookie.json()["data"]["me"]["id"] == account.gid
        login = await http.post(
            "/graphql",
            json={
                "query": LOGIN,
                "variables": {"email": account.doc["email"], "password": account.password},
            },
        )
    assert "session_token=" in login.headers["set-cookie"]
    for answer in (bearer, cookie, login):
        _assert_common(answer)
        assert answer.headers["cache-control"] == "private, no-store"


async def test_explorer_page_allows_what_it_loads_and_nothing_else(
    server_factory: Callable[..., LiveServer],
) -> None:
    live = server_factory(graphiql=True)
    async with httpx.AsyncClient() as http:
        page = await http.get(live.url, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    _assert_common(page)
    directives = page.headers["content-security-policy"].split("; ")
    policy = {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in directives}
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self'"
    scripts = policy["script-src"].split()
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    external = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", page.text)
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline
    ]
    sheets = re.findall(r"<link\b[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]+)\"", page.text, re.S)
    sheets += re.findall(r"<link\b[^>]*href=\"([^\"]+)\"[^>]*rel=\"stylesheet\"", page.text, re.S)
    # Since issue 14 every file comes from this origin (sigma_graphql/server/explorer_page.py):
    # the policy names 'self' and the hash of each inline script, if the page had one.
    assert external and sheets
    assert all(url.startswith("/") and not url.startswith("//") for url in external + sheets)
    assert sorted(scripts) == sorted(["'self'", *hashes])
    assert sorted(policy["style-src"].split()) == sorted(["'self'", "'unsafe-inline'"])


def test_our_headers_replace_the_answers_own_as_an_assignment_would() -> None:
    from sigma_graphql.server.security_headers import _secured

    raw = [
        (b"x-frame-options", b"SAMEORIGIN"),
        (b"content-type", b"text/html"),
        (b"x-frame-options", b"ALLOW"),  # a duplicate goes, the first place keeps ours
        (b"content-security-policy", b"default-src 'self'"),  # the explorer's own: kept
        (b"set-cookie", b"a=b"),
    ]
    assert _secured(raw, signed_in=False) == [
        (b"x-frame-options", b"DENY"),
        (b"content-type", b"text/html"),
        (b"content-security-policy", b"default-src 'self'"),
        (b"set-cookie", b"a=b"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"private, no-store"),  # an answer setting a cookie is private
    ]
    plain = _secured([(b"content-type", b"application/json")], signed_in=False)
    assert (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'") in plain
    assert all(name != b"cache-control" for name, _ in plain)
