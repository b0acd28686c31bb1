"""Helpers of the import and API-key tests: GraphQL multipart uploads over real HTTP, and files
(CSV, XLSX) built the way spreadsheets write them."""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson
from openpyxl import Workbook

from tests.support import LiveServer

IMPORT = """
mutation($file: Upload!, $umkmId: ID, $mode: ImportMode) {
  importFinancialLogs(file: $file, umkmId: $umkmId, mode: $mode) {
    rows imported unchanged
    rejected { row column message code }
    userErrors { field message code }
  }
}
"""

PREFLIGHT = {"Apollo-Require-Preflight": "true"}


async def upload(
    server: LiveServer,
    content: bytes,
    filename: str,
    *,
    headers: Mapping[str, str],
    variables: Mapping[str, Any] | None = None,
    query: str = IMPORT,
    preflight: bool = True,
    cookies: dict[str, str] | None = None,
) -> httpx.Response:
    """One GraphQL multipart request (the specification's operations / map / file parts)."""
    operations = {"query": query, "variables": {"file": None, **(variables or {})}}
    all_headers = {**(PREFLIGHT if preflight else {}), **headers}
    async with httpx.AsyncClient(base_url=server.base, timeout=600, cookies=cookies) as client:
        return await client.post(
            "/graphql",
            data={
                "operations": orjson.dumps(operations).decode(),
                "map": orjson.dumps({"0": ["variables.file"]}).decode(),
            },
            files={"0": (filename, content, "application/octet-stream")},
            headers=all_headers,
        )


def payload(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200, body
    assert not body.get("errors"), body["errors"]
    return body["data"]["importFinancialLogs"]  # type: ignore[no-any-return]


def csv_bytes(rows: Sequence[Sequence[object]], delimiter: str = ";", bom: bool = False) -> bytes:
    text = "\r\n".join(delimiter.join("" if v is None else str(v) for v in row) for row in rows)
    return (("\ufeff" if bom else "") + text + "\r\n").encode()


def xlsx_bytes(rows: Sequence[Sequence[object]], merge: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append([str(v) if isinstance(v, uuid.UUID) else v for v in row])
    if merge:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["umkmId", "tahun", "bulan", "omzet", "jumlahKaryawan", "catatan"]
