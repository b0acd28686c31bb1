"""A TCP proxy in its own thread: lets a test take a real database "down" (or pause it) and bring
it back."""

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
        self.flowing: asyncio.Event | None = None  # cleared: bytes are held, not forwarded
        self.thread.start()
        self._run(self._init())

    async def _init(self) -> None:
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                assert self.flowing is not None
                await self.flowing.wait()  # a paused database: nothing arrives, nothing is lost
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
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self.writers.difference_update({writer, up_writer})

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

    def _run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)  # type: ignore[arg-type]

    def up(self) -> TcpProxy:
        self._run(self._start())
        return self

    def down(self) -> None:
        self._run(self._stop())

    async def _set_flowing(self, on: bool) -> None:
        assert self.flowing is not None
        if on:
            self.flowing.set()
        else:
            self.flowing.clear()

    def pause(self) -> None:
        """Like SIGSTOP of the database: connections stay open, bytes wait in the proxy."""
        self._run(self._set_flowing(False))

    def resume(self) -> None:
        """Like SIGCONT: everything held is delivered, in order."""
        self._run(self._set_flowing(True))

    def close(self) -> None:
        self.down()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
