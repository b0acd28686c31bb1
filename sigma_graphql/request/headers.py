"""Request headers for the view's code (HTTP and WebSocket handshakes), decoded.

The dict behind them is built once per request and kept in the ASGI scope
(`sigma_graphql/core/scope_headers.py`, shared with the ASGI middlewares below the view).
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from sigma_graphql.core.scope_headers import scope_header


def header(conn: HTTPConnection, name: bytes) -> str | None:
    """The value of the request header `name` (lowercase bytes), or None."""
    value = scope_header(conn.scope, name)
    return None if value is None else value.decode("latin-1")
