"""Request headers read from one dict per request, kept in the ASGI scope (HTTP and WebSocket).

Starlette's `request.headers` keeps the raw ASGI list and scans it on every lookup, and the
request path reads a dozen headers (request id, body limit, accept, content type,
authorization, language, caching). Here the raw list becomes a dict once per request, kept in
the scope under SCOPE_KEY, and a lookup is a dict get. Names are given as lowercase bytes (ASGI
servers lowercase the names they receive); a repeated header gives its first value, as
Starlette's `headers.get` does, for every reader (the request id middleware and the body limit
read the last one before they used this). `sigma_graphql/request/headers.py` gives the decoded
value to the view's code.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

SCOPE_KEY = "sigma.headers"


def scope_header(scope: MutableMapping[str, Any], name: bytes) -> bytes | None:
    """The raw value of the request header `name` (lowercase bytes), or None."""
    found: dict[bytes, bytes] | None = scope.get(SCOPE_KEY)
    if found is None:
        # Reversed: the first of repeated headers is the one left in the dict.
        found = scope[SCOPE_KEY] = dict(reversed(scope.get("headers") or ()))
    return found.get(name)
