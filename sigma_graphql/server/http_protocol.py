"""GraphQL over HTTP: what is refused before a request reaches Strawberry, and the headers every
GraphQL answer carries (issue 14, part 2; tests/test_graphql_over_http.py lists the rules).

The rules followed are those of the graphql/graphql-over-http draft as of 2025-05 (Stage 2),
whose status codes the issue fixes (400 for request errors with
application/graphql-response+json, 200 for every well-formed request with application/json):
- Accept: absent means application/json; a header accepting neither
  application/graphql-response+json nor application/json (directly or through `*/*`,
  `application/*`) gets 406, except for the explorer page (a GET without `query` asking for
  HTML, left to Strawberry);
- POST bodies must be `application/json`, UTF-8 (assumed when no charset is given), or
  `multipart/form-data` (file uploads by the GraphQL multipart request specification, which the
  view accepts only with a preflight header: README, "Revenue imports"); anything else, or no
  Content-Type at all, gets 415;
- a GET carries its parameters in the URL: a GET with a body gets 400;
- empty GET parameters (`variables=`, `operationName=`, `extensions=`) mean absent;
- every GraphQL answer names its charset (`; charset=utf-8`) and varies on the headers that
  change it (Accept, Accept-Language, Authorization, Cookie).
Mutations over GET (405 with `Allow: POST`) are refused by the view, which alone knows the
operation.
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import async_base_view
from strawberry.http.parse_content_type import parse_content_type as _parse_content_type

from sigma_graphql.core.i18n import negotiate
from sigma_graphql.request.headers import header
from sigma_graphql.server.http_answers import GRAPHQL_RESPONSE, JSON, bad_request, quality

VARY = "Accept, Accept-Language, Authorization, Cookie"
CHARSET = "; charset=utf-8"
OPTIONAL_GET_PARAMS = ("variables", "operationName", "extensions")


@functools.lru_cache(maxsize=64)
def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Strawberry's parse_content_type, remembered for the few content types clients send: it
    builds an `email.message.Message` per call (about 30 Python calls per request). The view's
    body parser, the only caller given this one, reads the media type and drops the parameters,
    so sharing the answer between calls is safe."""
    return _parse_content_type(value)


# The view's module looks the function up by name on every request (strawberry<0.342, pinned).
async_base_view.parse_content_type = parse_content_type  # type: ignore[attr-defined]
MULTIPART = "multipart/form-data"


def accepts_graphql(accept: str | None) -> bool:
    """True when the client can read one of our GraphQL media types (no header: yes)."""
    if accept is None or not accept.strip():
        return True
    return quality(accept, GRAPHQL_RESPONSE) > 0 or quality(accept, JSON) > 0


def _wants_explorer(request: Request) -> bool:
    accept = header(request, b"accept") or ""
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "extensions" not in request.query_params
        and ("text/html" in accept or "*/*" in accept)
    )


def _has_body(request: Request) -> bool:
    length = header(request, b"content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return header(request, b"transfer-encoding") is not None


def _supported_body(content_type: str | None) -> bool:
    if not content_type:
        return False
    media, *params = [part.strip() for part in content_type.split(";")]
    if media.lower() == MULTIPART:
        return True
    if media.lower() != JSON:
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


def refusal(request: Request) -> Response | None:
    """The answer to a request this server refuses before parsing it, or None."""
    lang = negotiate(header(request, b"accept-language"))
    method = request.scope["method"]
    if method == "GET" and _has_body(request):
        return bad_request(
            400, "a GET request carries its parameters in the URL; send a body with POST", lang
        )
    if not accepts_graphql(header(request, b"accept")) and not _wants_explorer(request):
        return bad_request(
            406,
            f"the Accept header allows neither {GRAPHQL_RESPONSE} nor {JSON}",
            lang,
        )
    if method == "POST" and not _supported_body(header(request, b"content-type")):
        return bad_request(
            415, f"POST bodies must be {JSON} encoded in UTF-8 (or {MULTIPART} uploads)", lang
        )
    return None


def without_empty_params(params: dict[str, object]) -> dict[str, object]:
    """GET: an optional parameter given as the empty string is the parameter left out."""
    return {k: v for k, v in params.items() if not (k in OPTIONAL_GET_PARAMS and v == "")}


def finish(response: Response) -> Response:
    """Charset and Vary on a GraphQL JSON answer (other answers, e.g. the explorer, pass)."""
    content_type = response.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media in (JSON, GRAPHQL_RESPONSE):
        if "charset" not in content_type.lower():
            response.headers["content-type"] = media + CHARSET
        response.headers["Vary"] = VARY
    return response
