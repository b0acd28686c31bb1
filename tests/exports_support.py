"""Helpers of the export tests: start a job over GraphQL, wait for its end, download the file
over HTTP and read it back (CSV with the csv module, XLSX with openpyxl)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from openpyxl import load_workbook
from websockets.typing import Subprotocol

from db import export_jobs
from db.drivers.mongo import MongoDoc
from tests.support import Api, LiveServer

START = """mutation($input: StartExportInput!) {
  startExport(input: $input) {
    job { id status kind format progress rowCount createdAt expiresAt downloadUrl error }
    userErrors { field message code }
  }
}"""

JOB = """query($id: ID!) {
  exportJob(id: $id) {
    id status progress rowCount createdAt startedAt finishedAt expiresAt downloadUrl error
  }
}"""

BOM = b"\xef\xbb\xbf"
# The job waits for a background task: a condition polled, not a timing threshold (generous
# for this shared 2-core machine).
WAIT_S = 120.0


def running_job(owner_id: Any, **state: Any) -> MongoDoc:
    """A sector-statistics CSV job document, RUNNING with `state` (lease, attempts) set, as
    a process holding it would have left it; the caller stores it."""
    doc = export_jobs.new_job_doc(
        owner_id=owner_id,
        kind="SECTOR_STATS",
        fmt="CSV",
        delimiter=",",
        filter={},
        retention_s=3600,
    )
    doc.update(status="RUNNING", **state)
    return doc


async def start(api: Api, token: str, **input: Any) -> dict[str, Any]:
    payload = (await api.as_(token)(START, {"input": input})).ok()["startExport"]
    assert payload["userErrors"] == [], payload
    return payload["job"]  # type: ignore[no-any-return]


async def finished(api: Api, token: str, job_id: str) -> dict[str, Any]:
    """The job once it is SUCCEEDED or FAILED."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        job = (await api.as_(token)(JOB, {"id": job_id})).ok()["exportJob"]
        assert job is not None
        if job["status"] in ("SUCCEEDED", "FAILED"):
            return job  # type: ignore[no-any-return]
        assert loop.time() < deadline, f"export {job_id} still {job['status']}"
        await asyncio.sleep(0.1)


async def export(api: Api, token: str, **input: Any) -> dict[str, Any]:
    job = await finished(api, token, (await start(api, token, **input))["id"])
    assert job["status"] == "SUCCEEDED", job
    return job


def path_of(url: str) -> str:
    """The link's path (the tests' servers listen elsewhere than SIGMA_PUBLIC_BASE_URL)."""
    return urlsplit(url).path


async def download(server: LiveServer, url: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
        return await http.get(path_of(url), headers=headers)


def read_csv(body: bytes, delimiter: str = ",") -> list[dict[str, str]]:
    assert body.startswith(BOM), body[:10]
    text = body[len(BOM) :].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_xlsx(body: bytes) -> list[dict[str, Any]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def moment(value: Any) -> datetime | None:
    """A timestamp cell or GraphQL DateTime as an aware UTC datetime, to the nearest second
    (Excel keeps fractions of a second only approximately)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        assert isinstance(value, datetime)
        parsed = value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed.astimezone(UTC) + timedelta(microseconds=500_000)).replace(microsecond=0)


async def subscription(
    server: LiveServer, token: str, query: str, count: int
) -> list[dict[str, Any]]:
    """The first `count` messages (next, error, complete) of one graphql-transport-ws
    subscription, or fewer when the server completes it first."""
    ws = await websockets.connect(server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")])
    try:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        out: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT_S):
            while len(out) < count:
                message = json.loads(await ws.recv())
                if message["type"] in ("ping", "pong"):
                    continue
                out.append(message)
                if message["type"] in ("complete", "error"):
                    break
        return out
    finally:
        await ws.close()
