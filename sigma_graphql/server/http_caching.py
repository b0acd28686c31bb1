"""HTTP caching of persisted anonymous queries over GET (issue 14, part 3).

A GET naming a persisted document (extensions.persistedQuery) is a stable URL for the same
answer to every anonymous visitor, so browsers, CDNs and proxies may keep it:
- a successful anonymous answer carries `Cache-Control: public, max-age=N`
  (SIGMA_PERSISTED_MAX_AGE_S) and an ETag computed from its data, media type and language;
- `If-None-Match` naming that ETag gets 304 without a body;
- answers to signed-in viewers are `private, no-store` (also set for any request carrying a
  session by sigma_graphql/server/security_headers.py), and `Vary` names Authorization and
  Cookie (sigma_graphql/server/http_protocol.py) so a shared cache never hands an anonymous
  answer to a signed-in request or the reverse.
Answers with errors, POST answers and free-form GET queries carry no caching headers.
"""

from __future__ import annotations

import hashlib

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sigma_graphql.request.headers import header

PRIVATE = "private, no-store"


def etag(data: object, content_type: str, lang: str) -> str:
    digest = hashlib.sha256(
        orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        + b"\0"
        + content_type.split(";")[0].strip().lower().encode()
        + b"\0"
        + lang.encode()
    ).hexdigest()
    return f'W/"{digest[:40]}"'


def _matches(if_none_match: str, tag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored; `*` matches any."""
    opaque = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


def apply(
    request: Request,
    response: Response,
    *,
    persisted_get: bool,
    signed_in: bool,
    data: object,
    lang: str,
    max_age_s: int,
) -> Response:
    """The answer with its caching headers, or a 304 in its place."""
    if signed_in:
        response.headers["Cache-Control"] = PRIVATE
        return response
    if not persisted_get or data is None or response.status_code != 200:
        return response
    tag = etag(data, response.headers.get("content-type", ""), lang)
    cache_control = f"public, max-age={max_age_s}"
    if _matches(header(request, b"if-none-match") or "", tag):
        headers = {"ETag": tag, "Cache-Control": cache_control}
        vary = response.headers.get("vary")
        if vary:
            headers["Vary"] = vary
        return Response(status_code=304, headers=headers)
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = cache_control
    return response
