"""A Cassandra + MongoDB pair of its own for tests that kill, pause and restart databases.

Started by the same `.ci/services.sh` as `make run` (its own folder and free ports, MongoDB kept
on disk like `make run`), so what survives here survives there, and the suite's shared servers
are never touched. One pair serves all fault tests (the `fault_services` session fixture starts
it on first use: a Cassandra start costs 10-30 s on a busy machine).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sigma_graphql.core.settings import Settings
from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "services.sh"
PID_FILES = {"cassandra": "cassandra/cassandra.pid", "mongo": "mongo/mongo.pid"}


def _running(pid: int) -> bool:
    """Alive and not a zombie (PID 1 of a container may never reap the killed server)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _port_outside_the_ephemeral_range() -> int:
    """A free port below Linux's ephemeral range (32768-60999): these servers are killed and
    started again, and while one is down any outgoing connection on the machine could take its
    port as a source port (the restart then fails to bind)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(28_000, 32_000)  # clear of the fixed ports of the Makefile
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    return free_port()


class DedicatedServices:
    def __init__(self) -> None:
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.dir = Path(tempfile.mkdtemp(prefix="sigma-faults-", dir=base))
        self.cql_port = _port_outside_the_ephemeral_range()
        self.storage_port = _port_outside_the_ephemeral_range()
        self.mongo_port = _port_outside_the_ephemeral_range()
        # Seconds each `up` took until services.sh saw the server ready (what the tests measure
        # recovery from).
        self.last_up_s = 0.0

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SIGMA_SERVICES_DIR": str(self.dir),
            "SIGMA_CASSANDRA_PORT": str(self.cql_port),
            "SIGMA_CASSANDRA_STORAGE_PORT": str(self.storage_port),
            "SIGMA_MONGO_PORT": str(self.mongo_port),
            "SIGMA_MONGO_PERSIST": "1",
            "SIGMA_MONGO_DOCKER": "0",
            "SIGMA_CASSANDRA_HEAP": "768M",
        }

    def _script(self, *args: str) -> None:
        done = subprocess.run(
            [str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"services.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}")

    def up(self, which: str | None = None) -> DedicatedServices:
        started = time.monotonic()
        self._script("up", *([which] if which else []))
        self.last_up_s = time.monotonic() - started
        return self

    def down(self, which: str | None = None) -> None:
        self._script("down", *([which] if which else []))

    def pid(self, which: str) -> int:
        return int((self.dir / PID_FILES[which]).read_text().strip())

    def kill(self, which: str) -> None:
        """kill -9, then waits until the process is gone (its sockets are closed then)."""
        pid = self.pid(which)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _running(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{which} (pid {pid}) survived SIGKILL")
            time.sleep(0.05)

    def settings(self, base: Settings, **overrides: object) -> Settings:
        return base.with_overrides(
            cassandra_contact_points=(f"127.0.0.1:{self.cql_port}",),
            mongo_uri=f"mongodb://127.0.0.1:{self.mongo_port}",
            **overrides,
        )

    def remove(self) -> None:
        try:
            self.down()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
