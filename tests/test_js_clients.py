"""Real JavaScript clients against a live server (issue 14, part 4), run with the machine's node.

The npm packages are pinned in tests/clients/js/package.json and package-lock.json and installed
by `npm ci` into tests/clients/js/node_modules (git-ignored) the first time these tests run.
- graphql-ws: an owner's subscription to notificationAdded receives that owner's notification
  and not another owner's;
- Apollo Client with createPersistedQueryLink (hashed queries over GET): miss -> register -> hit,
  checked on what the server received, and a plain query.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import persisted_documents
from db.drivers.handles import Databases
from sigma_graphql.core.settings import Settings
from tests.fin_support import FLAG, fin_umkm, submit
from tests.support import Api, Factory, LiveServer, wait_subscribed

JS = Path(__file__).parent / "clients" / "js"
WAIT_S = 120  # a bound on a hung client, never a measure of speed


@pytest.fixture(scope="module")
def node() -> str:
    """The machine's node with the pinned packages installed (npm ci, once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed for the JavaScript client tests"
    lock = JS / "package-lock.json"
    stamp = JS / "node_modules" / ".installed-lock"
    if not stamp.exists() or stamp.read_text() != lock.read_text():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS,
            check=True,
            timeout=600,
        )
        stamp.write_text(lock.read_text())
    return node


async def run_node(node: str, script: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        node,
        str(JS / script),
        *args,
        cwd=JS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_line(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), WAIT_S)
    if not line:
        assert process.stderr is not None
        raise AssertionError((await process.stderr.read()).decode())
    return json.loads(line)  # type: ignore[no-any-return]


def _flag(umkm_id: object, reason: str) -> dict[str, Any]:
    return {"input": {"umkmId": str(umkm_id), "tahun": 2015, "bulan": 2, "reason": reason}}


async def test_graphql_ws_delivers_notification_added_to_its_owner_only(
    node: str, api: Api, server: LiveServer, factory: Factory
) -> None:
    alice, bob = await factory.account(), await factory.account()
    staff = await factory.account("PEJABAT")
    a_doc, b_doc = await fin_umkm(factory, alice), await fin_umkm(factory, bob)
    await submit(api, alice.token, a_doc["_id"], 2015, 2, 2_000_000)
    await submit(api, bob.token, b_doc["_id"], 2015, 2, 2_000_000)

    client = await run_node(node, "notifications.mjs", server.ws_url, alice.token)
    try:
        assert await read_line(client) == {"event": "connected"}
        await wait_subscribed(server, alice.id)
        as_staff = api.as_(staff.token)
        # Bob's notification first: had it reached Alice's socket, it would be her first event
        flagged = await as_staff(FLAG, _flag(b_doc["_id"], "omzet tidak wajar untuk Bob"))
        assert flagged.ok()["flagFinancialLog"]["userErrors"] == []
        flagged = await as_staff(FLAG, _flag(a_doc["_id"], "omzet tidak wajar untuk Alice"))
        assert flagged.ok()["flagFinancialLog"]["userErrors"] == []
        received = await read_line(client)
        assert received["event"] == "next", received
        event = received["value"]["data"]["notificationAdded"]
        assert event["type"] == "FINANCIAL_FLAGGED"
        assert event["umkm"] == {"id": str(a_doc["_id"])}
        assert (event["tahun"], event["bulan"]) == (2015, 2)
        assert await asyncio.wait_for(client.wait(), WAIT_S) == 0
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()


class _Recorder:
    """Keeps what the server received on /graphql (method, query string, body): the server's
    own view of the client's requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def recording() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        try:
            await self.app(scope, recording, send)
        finally:
            query_string = scope.get("query_string", b"").decode()
            self.requests.append((scope["method"], query_string, bytes(body)))


@pytest.fixture(scope="module")
def recorded(migrated: Settings) -> Iterator[tuple[LiveServer, _Recorder]]:
    live = LiveServer(migrated)
    recorder = _Recorder(live.app)
    live.server.config.app = recorder
    live.start()
    yield live, recorder
    live.stop()


async def test_apollo_persisted_queries_link_miss_register_hit_and_a_plain_query(
    node: str, recorded: tuple[LiveServer, _Recorder], dbs: Databases
) -> None:
    live, recorder = recorded
    tag = uuid.uuid4().hex[:8]
    client = await run_node(node, "apollo.mjs", live.url, tag)
    out = await read_line(client)
    assert await asyncio.wait_for(client.wait(), WAIT_S) == 0
    assert out["first"]["publicStats"]["verifiedUmkm"] >= 0
    assert out["second"] == out["first"]
    assert out["normal"]["today"] == out["first"]["today"]

    requests = [(m, parse_qs(q), b) for m, q, b in recorder.requests]
    # 1. miss: GET with the hash only
    method, params, _ = requests[0]
    assert method == "GET" and "query" not in params
    digest = json.loads(params["extensions"][0])["persistedQuery"]["sha256Hash"]
    # 2. register: POST with the document and the same hash
    method, _, body = requests[1]
    sent = json.loads(body)
    assert method == "POST" and f"ApqStats{tag}" in sent["query"]
    assert sent["extensions"]["persistedQuery"]["sha256Hash"] == digest
    stored = await persisted_documents.get(dbs.mongo, digest)
    assert stored is not None and stored.document == sent["query"]
    # 3. hit: GET with the hash only, answered from the stored document
    method, params, _ = requests[2]
    assert method == "GET" and "query" not in params
    assert json.loads(params["extensions"][0])["persistedQuery"]["sha256Hash"] == digest
    # 4. the plain query: a POST with its document and no hash
    method, _, body = requests[3]
    plain = json.loads(body)
    assert method == "POST" and f"Plain{tag}" in plain["query"]
    assert "persistedQuery" not in (plain.get("extensions") or {})
    assert len(requests) == 4
