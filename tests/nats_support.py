"""A NATS server of a test's own (started and stopped through .ci/services.sh, like `make test`),
and the subscription helpers the cross-process tests share."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

from gql import Client, gql
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport

from tests.support import LiveServer, free_port

ROOT = Path(__file__).resolve().parent.parent
SERVICES = str(ROOT / ".ci" / "services.sh")

Next = asyncio.Future[dict[str, Any]]


class DedicatedNats:
    """nats-server on free ports in a folder of its own; stop() and start() again at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.monitor_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="sigma-nats-")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _run(self, action: str) -> None:
        env = dict(os.environ)
        env.update(
            SIGMA_SERVICES_DIR=self.dir,
            SIGMA_NATS_PORT=str(self.port),
            SIGMA_NATS_MONITOR_PORT=str(self.monitor_port),
            SIGMA_SERVICES_TIMEOUT="60",
        )
        subprocess.run([SERVICES, action, "nats"], env=env, check=True, timeout=600)

    def start(self) -> DedicatedNats:
        self._run("up")
        return self

    def stop(self) -> None:
        self._run("down")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def ws_client(url: str, token: str) -> Client:
    return Client(
        transport=WebsocketsTransport(
            url=url,
            init_payload={"authorization": f"Bearer {token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
    )


def ws(server: LiveServer, token: str) -> Client:
    return ws_client(server.ws_url, token)


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(3000):  # a condition, not a timing threshold
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


class Listener:
    """One open subscription; `next()` is the next event it receives."""

    def __init__(
        self, session: AsyncClientSession, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        request = gql(query)
        request.variable_values = variables
        self.gen: AsyncGenerator[dict[str, Any], None] = session.subscribe(request)

    def next(self) -> Next:
        return asyncio.ensure_future(self.gen.__anext__())
