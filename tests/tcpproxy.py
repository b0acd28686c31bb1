"""A TCP proxy in its own thread: lets a test take a real database "down" and bring it back.

Faults it can play: `down()` refuses connections (a stopped server), `pause()` keeps every
connection open but forwards nothing until `resume()` (a hung server: SIGSTOP, a full disk, a
long GC pause), `sever()` leaves the current connections open and silent for good while new ones
work (peers that vanished without a reset: a restarted host behind NAT, a dropped VPN).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.support import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.flowing = asyncio.Event()
        self.links: list[asyncio.Event] = []
        self.thread.start()
        self.loop.call_soon_threadsafe(self.flowing.set)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, alive: asyncio.Event
    ) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()
                await alive.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.update({writer, up_writer})
        alive = asyncio.Event()
        alive.set()
        self.links.append(alive)
        await asyncio.gather(
            self._pipe(reader, up_writer, alive), self._pipe(up_reader, writer, alive)
        )
        self.writers.difference_update({writer, up_writer})
        if alive in self.links:
            self.links.remove(alive)

    async def _start(self) -> None:
        self.server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for w in list(self.writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self.writers.clear()

    async def _sever(self) -> None:
        for alive in self.links:
            alive.clear()
        self.links.clear()

    def _run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)  # type: ignore[arg-type]

    def up(self) -> TcpProxy:
        self._run(self._start())
        return self

    def down(self) -> None:
        self._run(self._stop())

    def pause(self) -> None:
        self.loop.call_soon_threadsafe(self.flowing.clear)

    def resume(self) -> None:
        self.loop.call_soon_threadsafe(self.flowing.set)

    def sever(self) -> None:
        self._run(self._sever())

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
