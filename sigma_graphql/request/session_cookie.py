"""The browser session cookie `session_token` (docs/architecture.md, Auth)."""

from __future__ import annotations

from starlette.responses import Response

from sigma_graphql.core.settings import Settings
from sigma_graphql.request.context import SESSION_COOKIE

_INSECURE_ENVIRONMENTS = frozenset({"development", "test"})


def _secure(settings: Settings) -> bool:
    # Local development and tests run over plain http; everywhere else the cookie needs TLS.
    return settings.environment not in _INSECURE_ENVIRONMENTS


def set_session_cookie(response: Response | None, settings: Settings, token: str) -> None:
    if response is None:  # WebSocket operations have no HTTP response to carry a cookie
        return
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )


def clear_session_cookie(response: Response | None, settings: Settings) -> None:
    if response is None:
        return
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(settings)
    )
