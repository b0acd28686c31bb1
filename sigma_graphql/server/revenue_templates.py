"""HTTP answers of the revenue imports and API keys that are not GraphQL: the downloadable
templates (GET /templates/financial-logs.csv and .xlsx: the column layout of
sigma_graphql/core/revenue_files.py, no data, public) and the refusal of an invalid API key."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sigma_graphql.core import errors
from sigma_graphql.core.i18n import Lang, register, t
from sigma_graphql.core.revenue_files import template_csv, template_xlsx
from sigma_graphql.server.http_answers import error_response

register(
    {
        "api_key_invalid": (
            "Kunci API tidak valid, dicabut atau kedaluwarsa",
            "The API key is invalid, revoked or expired",
        ),
    }
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CSV_BYTES = template_csv()
_XLSX_BYTES: bytes | None = None  # built on first download (openpyxl is slow to import)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-cache"}


async def csv_template(_: Request) -> Response:
    return Response(
        _CSV_BYTES,
        media_type="text/csv; charset=utf-8",
        headers=_attachment("financial-logs.csv"),
    )


async def xlsx_template(_: Request) -> Response:
    global _XLSX_BYTES
    if _XLSX_BYTES is None:
        _XLSX_BYTES = template_xlsx()
    return Response(_XLSX_BYTES, media_type=XLSX, headers=_attachment("financial-logs.xlsx"))


TEMPLATE_ROUTES = [
    Route("/templates/financial-logs.csv", csv_template, methods=["GET"]),
    Route("/templates/financial-logs.xlsx", xlsx_template, methods=["GET"]),
]


def invalid_api_key(lang: Lang) -> Response:
    """401 for a key that does not authenticate: never served as PUBLIC instead."""
    response = error_response(401, t("api_key_invalid", lang), errors.UNAUTHENTICATED)
    response.headers["WWW-Authenticate"] = "ApiKey"
    return response
