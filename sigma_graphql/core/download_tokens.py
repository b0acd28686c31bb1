"""Signed, expiring download tokens of export files (issue 18).

A token names one export job and the user who created it, signed with the secret key
(itsdangerous, its own salt so no other signed value of the application is accepted here) and
timestamped: it stops working after SIGMA_EXPORT_URL_TTL_S. The download route
(sigma_graphql/server/downloads.py) also requires that user's session, so a link that leaks
(history, a forwarded mail) is useless to anyone else.
"""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_SALT = "sigma.export-download"


class TokenExpired(Exception):
    """Well signed but older than its lifetime."""


class TokenInvalid(Exception):
    """Not a token this application signed (or not one for exports)."""


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def sign(secret: str, job_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return _serializer(secret).dumps({"j": str(job_id), "u": str(user_id)})


def verify(secret: str, token: str, max_age_s: int) -> tuple[uuid.UUID, uuid.UUID]:
    """(job id, user id) of a valid token; TokenExpired or TokenInvalid otherwise."""
    try:
        data = _serializer(secret).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise TokenExpired from None
    except BadSignature:
        raise TokenInvalid from None
    try:
        return uuid.UUID(str(data["j"])), uuid.UUID(str(data["u"]))
    except (KeyError, TypeError, ValueError):
        raise TokenInvalid from None
