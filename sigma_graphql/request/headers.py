"""Request headers read from one dict per request (HTTP and WebSocket handshakes).

Starlette's `request.headers` keeps the raw ASGI list and scans it on every lookup (the name
encoded, lowercased, each pair compared): about seven Python calls per lookup, and a GraphQL
request reads a dozen of them (accept, content type, authorization, language, caching). Here
the raw list becomes a dict once per request, kept in the ASGI scope, and a lookup is a dict
get and a decode. Names are given as lowercase bytes (ASGI servers lowercase the names they
receive); a repeated header gives its first value, as Starlette's `headers.get` does.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

_KEY = "sigma.headers"


def header(conn: HTTPConnection, name: bytes) -> str | None:
    """The value of the request header `name` (lowercase bytes), or None."""
    scope = conn.scope
    found: dict[bytes, bytes] | None = scope.get(_KEY)
    if found is None:
        # Reversed: the first of repeated headers is the one left in the dict.
        found = scope[_KEY] = dict(reversed(scope["headers"]))
    value = found.get(name)
    return None if value is None else value.decode("latin-1")
