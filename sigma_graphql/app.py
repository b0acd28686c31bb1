"""The ASGI application factory (Starlette + Strawberry)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from db import roundtrips
from db.handles import Databases
from schema.build import build_schema
from sigma_graphql.bodylimit import BodyLimitMiddleware
from sigma_graphql.context import Context, Services, build_context, resolve_viewer
from sigma_graphql.errors import retry_after, unavailable_database
from sigma_graphql.event_bus import EventBus
from sigma_graphql.requestid import RequestIdMiddleware
from sigma_graphql.settings import Settings, load_settings

log = logging.getLogger(__name__)


class _TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws clients (gql, graphql-ws) expect text frames; orjson gives bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class SigmaGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, orjson and WebSocket authentication."""

    websocket_adapter_class = _TextFrames

    def __init__(self, settings: Settings, services: Services, **kwargs: Any) -> None:
        super().__init__(build_schema(settings), **kwargs)
        self.settings = settings
        self.services = services
        self.dbs: Databases | None = None  # set by the lifespan

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        assert self.dbs is not None, "the application lifespan did not run"
        return await build_context(
            request,
            response if isinstance(response, Response) else None,
            self.settings,
            self.dbs,
            self.services,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Authentication on connection: a Bearer token in the connection_init payload
        # ({"authorization": "Bearer ..."}) or the session cookie of the WebSocket handshake.
        try:
            context.viewer = await resolve_viewer(
                context.request, context.dbs, context.connection_params or {}
            )
        except Exception as exc:
            if unavailable_database(exc) is None:
                raise
            raise ConnectionRejectionError({"code": "SERVICE_UNAVAILABLE"}) from exc
        return {"role": context.viewer.audience.value}

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        counter_token = roundtrips.start()[1]
        try:
            return await super().run(request, context=context, root_value=root_value)
        except Exception as exc:
            down = unavailable_database(exc)
            if down is None:
                raise
            # The viewer lookup needs MongoDB; say so instead of failing with a 500.
            wait = retry_after(exc)
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": f"Database {down} is unavailable",
                            "extensions": {
                                "code": "SERVICE_UNAVAILABLE",
                                "database": down,
                                "retryAfter": wait,
                            },
                        }
                    ]
                },
                status_code=503,
                headers={"Retry-After": str(wait)},
            )
        finally:
            roundtrips.stop(counter_token)


async def health(_: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    settings = settings or load_settings()
    services = services or Services()
    view = SigmaGraphQL(
        settings,
        services,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        multipart_uploads_enabled=False,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        dbs = Databases.open(settings)
        view.dbs = dbs
        app.state.dbs = dbs
        app.state.services = services
        # Subscribers on other API processes get this process's events (and vice versa).
        bus = EventBus(
            services.pubsub, dbs.cassandra, poll_interval_s=settings.event_poll_interval_s
        )
        app.state.event_bus = bus
        bus.start()
        # Circuit breakers and their probe (db/handles.py, issue #12).
        probe = asyncio.get_running_loop().create_task(dbs.probe_forever())
        try:
            yield
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            await bus.stop(timeout_s=settings.cassandra_timeout_s)
            await dbs.close()

    async def ready(request: Request) -> Response:
        checks = await request.app.state.dbs.check(timeout_s=1.0)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.view = view
    return app
