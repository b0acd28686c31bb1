"""Helpers for the auth tests: a server trusting X-Forwarded-For, sign-up data, GraphQL texts.

Failed logins count per client address, so every auth test that fails logins runs on
`auth_server` and sends its own X-Forwarded-For address (`addr()`): tests never share a limit.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.mailbox import Mailbox
from tests.support import Api, LiveServer

_counter = itertools.count(1)

LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    user { id email nama role accountStatus }
    token expiresAt
    userErrors { field message code }
  }
}"""

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) {
    user { id email nama role accountStatus nik telepon }
    userErrors { field message code }
  }
}"""

VERIFY = "mutation($t: String!) { verifyEmail(token: $t) { ok userErrors { field code } } }"
RESEND = "mutation($e: String!) { resendVerificationEmail(email: $e) { ok userErrors { code } } }"
REQUEST_RESET = (
    "mutation($e: String!) { requestPasswordReset(email: $e) { ok userErrors { code } } }"
)
RESET = """
mutation($t: String!, $p: String!) {
  resetPassword(input: {token: $t, newPassword: $p}) { ok userErrors { field message code } }
}"""
CHANGE = """
mutation($c: String!, $n: String!) {
  changePassword(input: {currentPassword: $c, newPassword: $n}) {
    ok userErrors { field message code }
  }
}"""
ME = "{ me { id email nama role accountStatus nik telepon } }"
LOGOUT = "mutation { logout { ok userErrors { code } } }"
HISTORY = """
query($id: ID, $first: Int) {
  loginHistory(userId: $id, first: $first) { at success ipAddress deviceInfo }
}"""

PASSWORD = "kopi-tubruk-malang-2024"


def addr() -> str:
    """A client address no other test uses (sent as X-Forwarded-For)."""
    n = next(_counter)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def unique_email(prefix: str = "warga") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@Contoh.ID"


def unique_nik() -> str:
    return f"{uuid.uuid4().int % 10**16:016d}"


def register_input(**overrides: Any) -> dict[str, Any]:
    data = {
        "namaLengkap": "Siti Rahayu",
        "nik": unique_nik(),
        "email": unique_email(),
        "telepon": "081234567890",
        "password": PASSWORD,
        "passwordConfirm": PASSWORD,
    }
    data.update(overrides)
    return data


def token_from(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


async def mailed_token(mailbox: Mailbox, email: str, count: int = 1) -> str:
    mails = await mailbox.wait_for(email, count)
    return token_from(mails[count - 1].links()[0])


# Test modules import these under other names (`auth_api as _auth_api`): pytest finds them by
# the fixture name given here, and the test parameters do not shadow an import.
@pytest.fixture(scope="session", name="auth_server")
def auth_server_fixture(server_factory: Callable[..., LiveServer]) -> LiveServer:
    return server_factory(trusted_proxy_header="x-forwarded-for")


@pytest.fixture(name="auth_api")
def auth_api_fixture(auth_server: LiveServer) -> Api:
    """An Api with its own client address for this test."""
    return Api(auth_server, headers={"X-Forwarded-For": addr()})


def from_addr(api: Api, address: str) -> Api:
    return Api(api.server, api.token, {**api.headers, "X-Forwarded-For": address})


async def login(api: Api, email: str, password: str) -> dict[str, Any]:
    resp = await api(LOGIN, {"email": email, "password": password})
    return resp.ok()["login"]  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def fields(payload: dict[str, Any]) -> set[str]:
    return {".".join(e["field"] or []) for e in payload["userErrors"]}
