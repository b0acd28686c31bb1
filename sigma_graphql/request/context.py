"""The per-request context: settings, databases, the viewer, language, loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from pymongo.asynchronous.database import AsyncDatabase
from starlette.requests import HTTPConnection
from starlette.responses import Response

from db import api_keys, sessions
from db.drivers.cassandra import Cassandra
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.drivers.outages import MONGO_DOWN
from loaders import Loaders
from sigma_graphql.core.i18n import Lang, negotiate, use_lang
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.requestid import current_request_id
from sigma_graphql.core.settings import Settings
from sigma_graphql.core.viewer import PUBLIC, Audience, Viewer
from sigma_graphql.request.headers import header
from sigma_graphql.request.last_good import LastGood
from sigma_graphql.request.socket_sessions import SocketSessions

SESSION_COOKIE = "session_token"
# Headers a cross-site form cannot send without a CORS preflight; one of them must accompany a
# multipart (file upload) request (sigma_graphql/server/app.py), as Apollo's CSRF prevention does.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")


class InvalidApiKey(Exception):
    """The request presented an API key that is malformed, unknown, wrong, revoked or expired,
    or whose owner is not an ACTIVE UMKM_OWNER: refused (401), never served as PUBLIC."""


@dataclass
class Services:
    """Process-wide collaborators shared by all requests (besides the databases)."""

    pubsub: PubSub = field(default_factory=PubSub)
    # Open signed-in WebSockets, re-checked against their session
    # (sigma_graphql/request/socket_sessions.py)
    sockets: SocketSessions = field(default_factory=SocketSessions)
    # Public map reads answered during a MongoDB outage (sigma_graphql/request/last_good.py).
    last_good: LastGood = field(default_factory=LastGood)
    # Set when a job is queued: this process's export worker takes it at once
    # (sigma_graphql/server/export_worker.py).
    export_wakeup: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Context:
    request: HTTPConnection
    response: Response | None
    settings: Settings
    dbs: Databases
    services: Services
    viewer: Viewer = PUBLIC
    lang: Lang = "id"
    request_id: str = "-"
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.dbs)

    @property
    def mongo(self) -> AsyncDatabase[MongoDoc]:
        return self.dbs.mongo

    @property
    def cassandra(self) -> Cassandra:
        return self.dbs.cassandra

    def fresh_loaders(self) -> None:
        """New loaders (subscriptions: one context serves many events over time)."""
        self.loaders = Loaders(self.dbs)

    @property
    def client_address(self) -> str | None:
        """The TCP peer, or the address the trusted proxy put in its header when configured.

        That is the header's last entry: proxies append the peer they saw, and every earlier
        entry comes from the client itself, so trusting the first would let anyone pick a fresh
        address per request and escape the per-address login limit."""
        name = self.settings.trusted_proxy_header
        if name:
            forwarded = header(self.request, name.lower().encode("latin-1"))
            if forwarded and forwarded.split(",")[-1].strip():
                return forwarded.split(",")[-1].strip()
        client = self.request.client
        return client.host if client else None


# What resolvers receive: `info.context` is a Context (there is no root value).
Info: TypeAlias = strawberry.Info[Context, None]


def _bearer(conn: HTTPConnection, params: dict[str, Any] | None) -> str | None:
    raw = header(conn, b"authorization")
    if params:  # graphql-transport-ws connection_init payload
        raw = str(params.get("authorization") or params.get("Authorization") or raw or "")
    if raw and raw[:7].lower() == "bearer ":
        return raw[7:].strip() or None
    return None


def _cookie_allowed(conn: HTTPConnection) -> bool:
    """CSRF: cookie sessions count only for JSON POSTs, GET queries and WebSockets.

    Strawberry refuses mutations over GET; a cross-site form cannot send application/json
    without a CORS preflight, so requiring it closes the form-post hole.
    """
    if conn.scope["type"] == "websocket":
        return True
    method = conn.scope.get("method", "GET")
    if method == "GET":
        return True
    content_type = (header(conn, b"content-type") or "").split(";")[0].strip().lower()
    if method == "POST" and content_type == "multipart/form-data":
        return has_preflight_header(conn.headers)
    return method == "POST" and content_type == "application/json"


def has_preflight_header(headers: Mapping[str, str]) -> bool:
    return any((headers.get(name) or "").strip() for name in PREFLIGHT_HEADERS)


def _api_key(conn: HTTPConnection) -> str | None:
    """The API key of an HTTP request (`Authorization: ApiKey <key>` or `X-API-Key`), or None.
    Sockets never authenticate with keys: machines only submit revenue."""
    if conn.scope["type"] != "http":
        return None
    raw = header(conn, b"authorization")
    if raw and raw[:7].lower() == "apikey ":
        return raw[7:].strip()
    key = header(conn, b"x-api-key")
    return key.strip() if key is not None else None


async def _key_viewer(dbs: Databases, presented: str) -> Viewer:
    """Looked up on every request (no cache): revocation, expiry and the owner's suspension
    apply at once on every API process (db/api_keys.py)."""
    found = await api_keys.find_with_owner(dbs.mongo, dbs.settings.secret_key, presented)
    if found is None:
        raise InvalidApiKey
    key, owner = found
    if owner.get("account_status") != "ACTIVE" or owner.get("role") != "UMKM_OWNER":
        raise InvalidApiKey
    await api_keys.touch(dbs.mongo, key, dbs.settings.api_key_touch_s)
    return Viewer(
        audience=Audience.API_KEY,
        nama=key.get("name"),
        api_key_id=key["_id"],
        api_key_umkm_id=key["umkm_id"],
        on_behalf_of=owner["_id"],
    )


async def resolve_viewer(
    conn: HTTPConnection, dbs: Databases, params: dict[str, Any] | None = None
) -> Viewer:
    presented = _api_key(conn)
    if presented is not None:  # a key wins over a session: a machine never acts as a person
        return await _key_viewer(dbs, presented)
    token = _bearer(conn, params)
    via_cookie = False
    if token is None:
        token = conn.cookies.get(SESSION_COOKIE)
        via_cookie = token is not None
        if via_cookie and not _cookie_allowed(conn):
            return PUBLIC
    if not token:
        return PUBLIC
    try:
        found = await sessions.find_with_user(dbs.mongo, token)
    except MONGO_DOWN:
        # MongoDB does not answer: a session validated within SIGMA_SESSION_CACHE_S keeps
        # working for what needs no MongoDB (db/sessions.py); any other one cannot be checked.
        found = sessions.RECENT.get(token, dbs.settings.session_cache_s)
        if found is None:
            raise
    if found is None:
        return PUBLIC
    session, user = found
    if user.get("account_status") != "ACTIVE":
        return PUBLIC
    return Viewer(
        audience=Audience(user["role"]),
        user_id=user["_id"],
        nama=user.get("nama"),
        email=user.get("email"),
        wilayah=user.get("wilayah"),
        session_id=session["_id"],
        via_cookie=via_cookie,
    )


async def build_context(
    conn: HTTPConnection,
    response: Response | None,
    settings: Settings,
    dbs: Databases,
    services: Services,
) -> Context:
    ctx = Context(
        request=conn,
        response=response,
        settings=settings,
        dbs=dbs,
        services=services,
        lang=negotiate(header(conn, b"accept-language")),
        request_id=current_request_id(),
    )
    use_lang(ctx.lang)
    if conn.scope["type"] == "http":
        ctx.viewer = await resolve_viewer(conn, dbs)
    return ctx
