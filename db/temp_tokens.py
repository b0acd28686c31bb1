"""Single-use tokens for e-mail verification and password reset (Cassandra `temp_tokens`).

The client gets a token signed with the secret key and carrying its issue time (itsdangerous),
so an expired link can be told apart from an unknown one without a lookup. Only the SHA-256 of
the token is stored; the row lives token_ttl_s seconds (per-insert TTL, the table default is the
same 900 s). A token works once, even under concurrent use: the row is removed with a
lightweight transaction (`DELETE ... IF EXISTS`) and only the caller whose delete applied wins.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from db.drivers.cassandra import Cassandra

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"


class TokenState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # never issued, already used, or signed for another purpose


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    user_id: uuid.UUID | None = None
    token_hash: str = ""


def _serializer(cassandra: Cassandra, purpose: str) -> URLSafeTimedSerializer:
    # The salt binds a token to its purpose: a reset link cannot verify an account.
    return URLSafeTimedSerializer(cassandra.settings.secret_key, salt=f"sigma-{purpose}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(cassandra: Cassandra, user_id: uuid.UUID, purpose: str) -> str:
    token = _serializer(cassandra, purpose).dumps(secrets.token_urlsafe(32))
    await cassandra.execute(
        "INSERT INTO temp_tokens (token_hash, user_id, purpose, created_at) "
        "VALUES (?, ?, ?, toTimestamp(now())) USING TTL ?",
        (_hash(token), user_id, purpose, cassandra.settings.token_ttl_s),
    )
    return token


async def check(cassandra: Cassandra, token: str, purpose: str) -> TokenCheck:
    """Whether `token` is live for `purpose` (does not use it up: see `consume`)."""
    try:
        _serializer(cassandra, purpose).loads(token, max_age=cassandra.settings.token_ttl_s)
    except SignatureExpired:
        return TokenCheck(TokenState.EXPIRED)
    except BadSignature:
        return TokenCheck(TokenState.UNKNOWN)
    token_hash = _hash(token)
    rows = await cassandra.execute(
        "SELECT user_id, purpose FROM temp_tokens WHERE token_hash = ?", (token_hash,)
    )
    if not rows or rows[0]["purpose"] != purpose:
        return TokenCheck(TokenState.UNKNOWN)
    return TokenCheck(TokenState.VALID, rows[0]["user_id"], token_hash)


async def consume(cassandra: Cassandra, checked: TokenCheck) -> bool:
    """Uses the token up; True for exactly one caller, however many race for it."""
    if checked.state is not TokenState.VALID:
        return False
    rows = await cassandra.execute(
        "DELETE FROM temp_tokens WHERE token_hash = ? IF EXISTS", (checked.token_hash,)
    )
    return bool(rows and rows[0].get("[applied]"))
