"""The ASGI application factory (Starlette + Strawberry)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from db.drivers import roundtrips
from db.drivers.handles import Databases
from db.drivers.outages import retry_after, unavailable_database
from schema.build import build_schema
from sigma_graphql.core.i18n import negotiate
from sigma_graphql.core.requestid import RequestIdMiddleware, current_request_id
from sigma_graphql.core.settings import Settings, load_settings
from sigma_graphql.execution.extensions import classify
from sigma_graphql.request.context import (
    Context,
    InvalidApiKey,
    Services,
    build_context,
    has_preflight_header,
    resolve_viewer,
)
from sigma_graphql.server.bodylimit import BodyLimitMiddleware
from sigma_graphql.server.event_bus import EventBus
from sigma_graphql.server.http_answers import (
    GRAPHQL_RESPONSE,
    bad_request,
    request_error_status,
    wants_graphql_response,
)
from sigma_graphql.server.reconciler import Reconciler
from sigma_graphql.server.revenue_templates import TEMPLATE_ROUTES, invalid_api_key
from sigma_graphql.server.security_headers import SecurityHeadersMiddleware, explorer_csp

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
        self._ide_html = self.graphql_ide_html if self.graphql_ide else ""
        self._ide_csp = explorer_csp(self._ide_html)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._ide_html, headers={"Content-Security-Policy": self._ide_csp})

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        # A body (or GET `variables`) of null, 123, "x" or true is not a request: 400, not a
        # crash of Strawberry's parser (batches, the only lists, are refused by Strawberry).
        value = super().parse_json(data)
        if not isinstance(value, dict | list):
            raise HTTPException(400, "The request body must be a JSON object")
        return value

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data" and not has_preflight_header(request.headers):
            # CSRF: a cross-site form may post multipart/form-data without a preflight; only
            # scripts allowed by CORS can add this header (sigma_graphql/request/context.py).
            raise HTTPException(
                400, "multipart requests need an Apollo-Require-Preflight header (CSRF)"
            )
        parsed = await super().parse_http_body(request)
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(400, "operationName must be a string or null")
        return parsed

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        lang = negotiate(request.headers.get("accept-language"))
        if result.errors:
            # Errors that bypassed ErrorPolicy (raised around the extension hooks) get their
            # code and request id here; classify leaves classified errors as they are.
            rid = current_request_id()
            result.errors = [classify(e, lang, rid) for e in result.errors]
        answer = await super().process_result(request, result)
        if wants_graphql_response(request.headers.get("accept")):
            status = request_error_status(result.data, result.errors)
            if status is not None:
                answer.pop("data", None)  # a request error has no data entry
            request.state.graphql_answer = (status or 200, GRAPHQL_RESPONSE)
        return answer

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
        self.services.sockets.opened(context)
        return {"role": context.viewer.audience.value}

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        counter_token = roundtrips.start()[1]
        try:
            response = await super().run(request, context=context, root_value=root_value)
            answer = getattr(getattr(request, "state", None), "graphql_answer", None)
            if answer is not None and isinstance(response, Response):
                response.status_code, response.headers["content-type"] = answer
            return response
        except ClientDisconnect:
            # The client went away before its body arrived: nobody to answer, nothing broken.
            log.info("request %s: client left before its body arrived", current_request_id())
            return Response(status_code=400)
        except HTTPException as exc:
            lang = negotiate(request.headers.get("accept-language"))
            return bad_request(exc.status_code, exc.reason, lang)
        except InvalidApiKey:
            return invalid_api_key(negotiate(request.headers.get("accept-language")))
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
            if isinstance(request, WebSocket):
                self.services.sockets.closed(request)


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
        # File uploads (importFinancialLogs) with the CSRF header rule of parse_http_body.
        multipart_uploads_enabled=True,
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
        services.sockets.configure(
            lambda ctx: resolve_viewer(ctx.request, dbs, ctx.connection_params or {}),
            cache_s=settings.ws_session_cache_s,
            sweep_s=settings.ws_session_sweep_s,
        )
        services.sockets.start()
        reconciler = Reconciler(
            dbs,
            interval_s=settings.reconcile_interval_s,
            repair_age_s=settings.intent_repair_age_s,
            lease_s=settings.reconcile_lease_s,
        )
        app.state.reconciler = reconciler
        if settings.reconcile_interval_s > 0:
            reconciler.start()
        # Circuit breakers and their probe (db/drivers/handles.py, issue #12).
        probe = asyncio.get_running_loop().create_task(dbs.probe_forever())
        try:
            yield
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            await reconciler.stop()
            await services.sockets.stop()
            await bus.stop(timeout_s=settings.cassandra_timeout_s)
            await dbs.close()

    async def ready(request: Request) -> Response:
        checks = await request.app.state.dbs.check(timeout_s=1.0)
        ok = all(v == "ok" for v in checks.values())
        for name, detail in checks.items():
            if detail != "ok":  # addresses and driver text stay in the log
                log.warning("ready: %s not ready: %s", name, detail)
        public = {name: "ok" if v == "ok" else "unavailable" for name, v in checks.items()}
        return JSONResponse({"ready": ok, "checks": public}, status_code=200 if ok else 503)

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            *TEMPLATE_ROUTES,
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                max_upload_bytes=settings.max_body_bytes + settings.import_max_bytes,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.view = view
    return app
