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
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.types import QueryParams
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from db.drivers import roundtrips
from db.drivers.handles import Databases
from db.drivers.outages import retry_after, unavailable_database
from schema.build import build_schema
from sigma_graphql.core import errors, heap
from sigma_graphql.core.errors import AppError
from sigma_graphql.core.i18n import negotiate
from sigma_graphql.core.requestid import RequestIdMiddleware, current_request_id
from sigma_graphql.core.settings import Settings, load_settings
from sigma_graphql.execution.extensions import classify
from sigma_graphql.observability import metrics, request_log, request_record, tracing
from sigma_graphql.request.context import (
    Context,
    InvalidApiKey,
    Services,
    build_context,
    has_preflight_header,
    resolve_viewer,
)
from sigma_graphql.request.headers import header
from sigma_graphql.server import downloads, http_caching, http_protocol, request_line
from sigma_graphql.server.bodylimit import BodyLimitMiddleware
from sigma_graphql.server.disconnects import DisconnectMiddleware, client_left
from sigma_graphql.server.explorer_page import explorer_html, explorer_routes
from sigma_graphql.server.export_worker import ExportWorker
from sigma_graphql.server.http_answers import (
    GRAPHQL_RESPONSE,
    bad_request,
    request_error_status,
    wants_graphql_response,
)
from sigma_graphql.server.metrics_endpoint import (
    broker_status,
    metrics_endpoint,
    record_readiness,
)
from sigma_graphql.server.nats_bus import NatsBus
from sigma_graphql.server.persisted_queries import PersistedQueries
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


# What the view learns about a request for the headers of its answer (`_finish`), kept in the
# ASGI scope: Starlette's `request.state` costs a property call per read and an exception per
# name never set.
_VIEWER = "sigma.viewer"
_PERSISTED = "sigma.persisted"
_DATA = "sigma.graphql_data"  # for the ETag
_ANSWER = "sigma.graphql_answer"  # status and content type of a GraphQL-over-HTTP answer


class SigmaGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, orjson and WebSocket authentication."""

    websocket_adapter_class = _TextFrames

    def __init__(self, settings: Settings, services: Services, **kwargs: Any) -> None:
        super().__init__(build_schema(settings, pubsub=services.pubsub), **kwargs)
        self.settings = settings
        self.services = services
        self.dbs: Databases | None = None  # set by the lifespan
        # Our own page, not Strawberry's: every file it loads is served from this origin.
        self._ide_html = explorer_html() if self.graphql_ide else ""
        self._ide_csp = explorer_csp(self._ide_html)
        self.persisted = PersistedQueries(settings)  # sigma_graphql/server/persisted_queries.py

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a persisted document (`extensions` without `query`) is an APQ request,
        # not the explorer, even from a client accepting anything (`*/*`: curl, mobile HTTP
        # libraries); http_protocol lets the same requests through its 406 check.
        return bool(
            super().should_render_graphql_ide(request)
            and request.query_params.get("extensions") is None
        )

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

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        return super().parse_query_params(http_protocol.without_empty_params(dict(params)))  # type: ignore[arg-type]

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
        lang = negotiate(header(request, b"accept-language"))
        if result.errors:
            # Errors that bypassed ErrorPolicy (raised around the extension hooks) get their
            # code and request id here; classify leaves classified errors as they are.
            rid = current_request_id()
            result.errors = [classify(e, lang, rid) for e in result.errors]
        answer = await super().process_result(request, result)
        if wants_graphql_response(header(request, b"accept")):
            status = request_error_status(result.data, result.errors)
            if status is not None:
                answer.pop("data", None)  # a request error has no data entry
            request.scope[_ANSWER] = (status or 200, GRAPHQL_RESPONSE)
        if not result.errors:
            request.scope[_DATA] = result.data  # for the ETag (http_caching)
        return answer

    async def execute_single(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Persisted operations first (sigma_graphql/server/persisted_queries.py): the document
        # named by its hash, or a refusal as a GraphQL error.
        try:
            request_data, persisted = await self.persisted.resolve(
                context.dbs, request_data, context.viewer
            )
        except AppError as refused:
            return ExecutionResult(data=None, errors=[refused])
        request.scope[_PERSISTED] = persisted
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                # GraphQL over HTTP: a mutation over GET is 405 with the methods that work.
                raise HTTPException(405, exc.reason) from exc
            if isinstance(exc.__cause__, CannotGetOperationTypeError):
                # GetOperation() failed: a request error like validation (200 with
                # application/json, 400 without data with application/graphql-response+json).
                return ExecutionResult(
                    data=None, errors=[AppError(exc.reason, errors.BAD_USER_INPUT)]
                )
            raise
        if persisted is not None:
            await self.persisted.registered(context.dbs, persisted, result.errors, result.data)
        return result

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        assert self.dbs is not None, "the application lifespan did not run"
        context = await build_context(
            request,
            response if isinstance(response, Response) else None,
            self.settings,
            self.dbs,
            self.services,
        )
        if isinstance(request, Request):
            request.scope[_VIEWER] = context.viewer  # for the caching headers (http_caching)
        return context

    def _finish(self, request: Request, response: Response) -> Response:
        """Headers of every GraphQL answer and, for persisted GETs, HTTP caching."""
        response = http_protocol.finish(response)
        scope = request.scope
        viewer = scope.get(_VIEWER)
        return http_caching.apply(
            request,
            response,
            persisted_get=scope["method"] == "GET" and scope.get(_PERSISTED) is not None,
            signed_in=viewer is not None and not viewer.is_public,
            data=scope.get(_DATA),
            lang=negotiate(header(request, b"accept-language")),
            max_age_s=self.settings.persisted_max_age_s,
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
        counter, counter_token = roundtrips.start()
        # HTTP requests get one log line and the per-request metrics (docs/operations.md).
        record, record_token = request_record.start()
        trace_token = tracing.continue_caller(request.headers)
        status = 500
        try:
            if isinstance(request, Request):
                refused = http_protocol.refusal(request)  # 406, 415, GET with a body
                if refused is not None:
                    status = refused.status_code
                    return http_protocol.finish(refused)
            response = await super().run(request, context=context, root_value=root_value)
            answer = request.scope.get(_ANSWER)
            if answer is not None and isinstance(response, Response):
                response.status_code, response.headers["content-type"] = answer
            if isinstance(request, Request) and isinstance(response, Response):
                response = self._finish(request, response)
            status = getattr(response, "status_code", 200) or 200
            return response
        except ClientDisconnect:
            # The client went away before its body arrived: nobody to answer, nothing broken.
            client_left("before its body arrived")
            record.outcome, status = "clientDisconnected", 499
            return Response(status_code=400)
        except HTTPException as exc:
            lang = negotiate(header(request, b"accept-language"))
            refusal = bad_request(exc.status_code, exc.reason, lang)
            if exc.status_code == 405:
                mutation = isinstance(exc.__cause__, HTTPException)  # from execute_single
                refusal.headers["Allow"] = "POST" if mutation else "GET, POST"
            status = refusal.status_code
            return http_protocol.finish(refusal)
        except InvalidApiKey:
            refusal = invalid_api_key(negotiate(header(request, b"accept-language")))
            status = refusal.status_code
            return refusal
        except Exception as exc:
            down = unavailable_database(exc)
            if down is None:
                raise
            # The viewer lookup needs MongoDB; say so instead of failing with a 500.
            wait = retry_after(exc)
            status = 503
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
            request_record.stop(record_token)
            tracing.deactivate(trace_token)
            if isinstance(request, WebSocket):
                self.services.sockets.closed(request)
            else:
                request_line.finish(request, self.settings, record, counter, status)


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
        # Log format and tracing (OTEL_* variables) in every worker process (docs/operations.md).
        request_log.configure(settings)
        tracing.configure_from_environment()
        dbs = Databases.open(settings)
        view.dbs = dbs
        app.state.dbs = dbs
        app.state.services = services
        # Subscribers on other API processes get this process's events (and vice versa) through
        # NATS (issue 17); without a broker URL events stay inside this process.
        bus = (
            NatsBus(services.pubsub, settings.nats_url, prefix=settings.nats_subject_prefix)
            if settings.nats_url
            else None
        )
        app.state.event_bus = bus
        if bus is not None:
            bus.start()
            await bus.wait_connected(2.0)  # bounded: a broker that is down does not stop start-up
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
        exports = ExportWorker(dbs, settings, services.pubsub, services.export_wakeup)
        app.state.export_worker = exports
        exports.start()
        # Circuit breakers and their probe (db/drivers/handles.py, issue #12).
        probe = asyncio.get_running_loop().create_task(dbs.probe_forever())
        # Everything start-up built stays alive: keep the collector from walking it per request.
        heap.settle_after_startup()
        try:
            yield
        finally:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
            await exports.stop()
            await reconciler.stop()
            await services.sockets.stop()
            if bus is not None:
                await bus.stop(timeout_s=2.0)
            await dbs.close()
            tracing.shutdown()
            metrics.process_exit()

    async def ready(request: Request) -> Response:
        checks = await request.app.state.dbs.check(timeout_s=1.0)
        broker = broker_status(request)
        record_readiness(checks, broker)  # the metrics agree with this answer
        ok = all(v == "ok" for v in checks.values())
        for name, detail in checks.items():
            if detail != "ok":  # addresses and driver text stay in the log
                log.warning("ready: %s not ready: %s", name, detail)
        public = {name: "ok" if v == "ok" else "unavailable" for name, v in checks.items()}
        # NATS only carries events between processes: without it writes still succeed, so it
        # makes the process degraded, not unready (issue 17).
        if broker is not None:
            public["nats"] = broker
        return JSONResponse({"ready": ok, "checks": public}, status_code=200 if ok else 503)

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/graphql", view, methods=["GET", "POST"]),
            Route("/metrics", metrics_endpoint),
            WebSocketRoute("/graphql", view),
            *explorer_routes(settings.graphiql),
            *downloads.ROUTES,
            *TEMPLATE_ROUTES,
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(DisconnectMiddleware),
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
