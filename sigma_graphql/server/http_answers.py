"""GraphQL over HTTP: media type, status codes and the JSON error of a malformed request.

- A request that is not well-formed (a body that is not JSON or not a JSON object, a query that
  is not a string, ...) gets 400 and a GraphQL-shaped JSON error with a code and the request
  id, never Strawberry's plain-text answer.
- `application/json` (the default): 200 for every well-formed request, whatever GraphQL errors
  it produced, as the GraphQL-over-HTTP specification recommends for that media type.
- `application/graphql-response+json` when the client's Accept header prefers it: a request
  error (nothing executed: syntax, validation, variable coercion, limits) has no `data` entry and
  a 4xx status (429 for RATE_LIMITED, 503 for SERVICE_UNAVAILABLE, 403 for
  TRUSTED_DOCUMENT_REQUIRED, 400 otherwise); a response with `data` is 200.
- What is refused before parsing (406, 415, GET with a body) and the headers of every answer:
  sigma_graphql/server/http_protocol.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from graphql import GraphQLError
from starlette.responses import Response

from sigma_graphql.core import errors
from sigma_graphql.core.i18n import Lang, register, t
from sigma_graphql.core.requestid import current_request_id

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

register(
    {
        "http_bad_request": ("Permintaan tidak valid: {detail}", "Bad request: {detail}"),
    }
)

_STATUS_OF_CODE = {
    errors.RATE_LIMITED: 429,
    errors.SERVICE_UNAVAILABLE: 503,
    errors.INTERNAL_SERVER_ERROR: 500,
    # A free-form document where only trusted ones run (sigma_graphql/server/persisted_queries.py)
    errors.TRUSTED_DOCUMENT_REQUIRED: 403,
}


def error_response(status: int, message: str, code: str) -> Response:
    extensions = {"code": code, "requestId": current_request_id()}
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def bad_request(status: int, reason: str, lang: Lang) -> Response:
    """Strawberry's HTTPException (400, 404, 405...) as a GraphQL-shaped JSON error."""
    code = errors.NOT_FOUND if status == 404 else errors.BAD_USER_INPUT
    return error_response(status, t("http_bad_request", lang, detail=reason), code)


def quality(accept: str, media_type: str) -> float:
    """The q of the most specific range of `accept` matching media_type (0: not accepted)."""
    best, best_specificity = 0.0, -1
    kind = media_type.split("/")[0]
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        rng = fields[0].lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(rng)
        if specificity is None or specificity < best_specificity:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best, best_specificity = q, specificity
    return best


def wants_graphql_response(accept: str | None) -> bool:
    """True when the client accepts application/graphql-response+json at least as much as
    application/json (no Accept header: application/json, as legacy clients expect)."""
    if not accept:
        return False
    preferred = quality(accept, GRAPHQL_RESPONSE)
    named = GRAPHQL_RESPONSE in accept.lower()
    return named and preferred > 0 and preferred >= quality(accept, JSON)


def request_error_status(data: object, found: Sequence[GraphQLError] | None) -> int | None:
    """The status of a result that is a request error (no data, no error with a path), else
    None: such a result never reached a resolver."""
    if data is not None or not found or any(e.path is not None for e in found):
        return None
    code = (found[0].extensions or {}).get("code")
    return _STATUS_OF_CODE.get(str(code), 400)
