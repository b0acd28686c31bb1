"""Open subscription sockets and the session each one was opened with (issue 12, finding 7).

The viewer of a WebSocket is resolved once, at connection_init, but its session can end while the
socket stays open: logout, password reset, suspension, deletion, expiry. Two checks keep an open
socket honest, both through the same session lookup as HTTP requests (the `lookup` given by the
app: context.resolve_viewer), so every API process decides from the shared MongoDB sessions:
- before each delivery (`admit`): the socket's session is looked up again, unless a lookup of
  that session answered less than `cache_s` ago (a per-process cache, one entry per session);
- every `sweep_s` (`sweep`, a background task): one fresh lookup per distinct session of the open
  sockets, so an idle socket is closed too.
A socket whose session ended, or whose account changed role or region, is closed with code
CLOSE_SESSION_ENDED (4401, graphql-transport-ws's "Unauthorized"); the client signs in again and
reconnects. When the lookup itself fails (MongoDB unavailable), the socket stays open but events
are withheld until a lookup succeeds: nothing is delivered on a session that cannot be checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from sigma_graphql.core.viewer import Viewer

log = logging.getLogger(__name__)

CLOSE_SESSION_ENDED = 4401
CLOSE_REASON = "Session ended"
# Lookups of one sweep running at once (one per distinct session).
SWEEP_CONCURRENCY = 32


class SocketContext(Protocol):
    """What this module needs of a subscription's context
    (sigma_graphql.request.context.Context)."""

    request: HTTPConnection
    viewer: Viewer
    connection_params: dict[str, Any] | None


Lookup = Callable[[SocketContext], Awaitable[Viewer]]


@dataclass
class _Verdict:
    viewer: Viewer | None  # None: the lookup failed (database unavailable)
    at: float


def same_rights(opened: Viewer, now: Viewer) -> bool:
    """The socket may keep delivering: same session, same account, same role and region."""
    return (
        now.session_id == opened.session_id
        and now.user_id == opened.user_id
        and now.audience == opened.audience
        and now.wilayah == opened.wilayah
    )


class SocketSessions:
    """The open, signed-in sockets of this process; `configure` before use (the app does)."""

    def __init__(self) -> None:
        self.lookup: Lookup | None = None
        self.cache_s = 5.0
        self.sweep_s = 5.0
        self._open: dict[HTTPConnection, SocketContext] = {}
        self._verdicts: dict[str, _Verdict] = {}
        self._inflight: dict[str, asyncio.Future[Viewer | None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def configure(self, lookup: Lookup, *, cache_s: float, sweep_s: float) -> None:
        self.lookup, self.cache_s, self.sweep_s = lookup, cache_s, sweep_s

    @property
    def open_count(self) -> int:
        return len(self._open)

    def opened(self, ctx: SocketContext) -> None:
        """After connection_init: anonymous sockets have no session to watch."""
        if ctx.viewer.session_id is not None:
            self._open[ctx.request] = ctx

    def closed(self, conn: HTTPConnection) -> None:
        self._open.pop(conn, None)

    async def admit(self, ctx: SocketContext) -> bool:
        """Whether the next event may be delivered on this socket; closes it when its session
        ended."""
        if ctx.viewer.session_id is None or self.lookup is None:
            return True
        viewer = await self._current(ctx, self.cache_s)
        if viewer is None:
            return False  # cannot check: withhold, keep the socket
        if same_rights(ctx.viewer, viewer):
            return True
        await self._close(ctx)
        return False

    async def sweep(self) -> int:
        """Re-checks every open socket (one lookup per session); returns how many it closed."""
        by_session: dict[str, list[SocketContext]] = {}
        for ctx in list(self._open.values()):
            if ctx.viewer.session_id is not None:
                by_session.setdefault(ctx.viewer.session_id, []).append(ctx)
        gate = asyncio.Semaphore(SWEEP_CONCURRENCY)
        closed = 0

        async def one(group: list[SocketContext]) -> None:
            nonlocal closed
            async with gate:
                viewer = await self._current(group[0], 0.0)
            if viewer is None:
                return
            for ctx in group:
                if not same_rights(ctx.viewer, viewer):
                    await self._close(ctx)
                    closed += 1

        await asyncio.gather(*(one(g) for g in by_session.values()))
        # Verdicts of sessions without an open socket are never read again.
        live = set(by_session)
        self._verdicts = {k: v for k, v in self._verdicts.items() if k in live}
        return closed

    async def _current(self, ctx: SocketContext, max_age_s: float) -> Viewer | None:
        """The session's viewer now (None: lookup failed); concurrent callers share a lookup."""
        sid = ctx.viewer.session_id
        assert sid is not None and self.lookup is not None
        verdict = self._verdicts.get(sid)
        fresh = verdict is not None and time.monotonic() - verdict.at < max_age_s
        if fresh and verdict is not None and verdict.viewer is not None:
            return verdict.viewer
        pending = self._inflight.get(sid)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Viewer | None] = asyncio.get_running_loop().create_future()
        self._inflight[sid] = future
        try:
            try:
                viewer: Viewer | None = await self.lookup(ctx)
            except Exception as exc:
                log.warning("session of an open socket cannot be checked: %s", exc)
                viewer = None
            self._verdicts[sid] = _Verdict(viewer, time.monotonic())
            future.set_result(viewer)
            return viewer
        finally:
            del self._inflight[sid]
            if not future.done():  # cancelled while looking up
                future.cancel()

    async def _close(self, ctx: SocketContext) -> None:
        self._open.pop(ctx.request, None)
        if isinstance(ctx.request, WebSocket):
            # Already closing or closed by the client: nothing left to do.
            with contextlib.suppress(Exception):
                await ctx.request.close(code=CLOSE_SESSION_ENDED, reason=CLOSE_REASON)

    # -- the periodic re-check ---------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._run(), name="socket-sweep")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            if not self._open:
                continue
            try:
                closed = await self.sweep()
            except Exception:
                log.exception("re-checking the sessions of open sockets failed")
            else:
                if closed:
                    log.info("closed %d sockets whose session ended", closed)
