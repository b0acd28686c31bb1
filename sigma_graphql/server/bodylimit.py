"""Rejects request bodies above the configured size with 413 and a GraphQL-shaped error."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sigma_graphql.core.requestid import current_request_id
from sigma_graphql.core.scope_headers import scope_header


class _TooLarge(Exception):
    pass


def error_body(message: str, code: str) -> bytes:
    return orjson.dumps(
        {
            "errors": [
                {
                    "message": message,
                    "extensions": {"code": code, "requestId": current_request_id()},
                }
            ]
        }
    )


class BodyLimitMiddleware:
    """max_bytes for every body; multipart/form-data (file uploads) may carry the file's own
    limit on top (max_upload_bytes: SIGMA_MAX_BODY_BYTES + SIGMA_IMPORT_MAX_BYTES)."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = (scope_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        limit = self.max_upload_bytes if content_type == b"multipart/form-data" else self.max_bytes
        declared = scope_header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body = error_body(
            f"Request body exceeds {limit} bytes / Ukuran permintaan melebihi batas",
            "BAD_USER_INPUT",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
