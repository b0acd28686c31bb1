"""A client that goes away mid-request is one short log line, not a traceback.

The view (sigma_graphql/server/app.py, `run`) already answers a body that never arrived; this
outermost middleware catches what escapes elsewhere: Starlette's ClientDisconnect raised by a
streamed answer (multipart subscriptions over HTTP) or by a body read outside the view, and the
server's own "client disconnected" OSError raised by a send after the peer left. Nothing can be
answered any more, so it only logs and counts (`sigma_client_disconnects_total`).
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.utils import ClientDisconnected

from sigma_graphql.core.requestid import current_request_id
from sigma_graphql.observability import metrics

log = logging.getLogger(__name__)


def client_left(where: str) -> None:
    metrics.DISCONNECTS.inc()
    log.info("request %s: client left %s", current_request_id(), where)


class DisconnectMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except (ClientDisconnect, ClientDisconnected):
            client_left("mid-request")
