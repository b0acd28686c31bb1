"""`sigma-graphql run-cluster`: N API processes behind HAProxy on one port (issue 17).

The deployment shape of docs/architecture.md ("Deployment"), on one machine: every process is
`sigma-graphql serve` on a port of its own with the same settings (databases, NATS), and HAProxy
(Debian's package; `make run-cluster` installs it when missing) balances HTTP and WebSocket
requests over them round-robin, checks `/health` every CHECK_MS (waiting up to 2 s for the
answer) and takes a process out after three failed checks or at once on a refused connection.
The HAProxy configuration is generated from the committed template beside this module
(haproxy.cfg.in). `Cluster` is also what tests/test_cluster.py and bench/ start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from string import Template
from typing import IO

from sigma_graphql.commands.command import Command
from sigma_graphql.core.settings import Settings

TEMPLATE = Path(__file__).with_name("haproxy.cfg.in")
CHECK_MS = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        raise RuntimeError("haproxy not found: `make run-cluster` installs Debian's package")
    return found


class Cluster:
    """API processes plus HAProxy, started and stopped together."""

    def __init__(
        self,
        processes: int,
        port: int,
        *,
        host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        check_ms: int = CHECK_MS,
    ) -> None:
        if processes < 1:
            raise ValueError("at least one API process")
        self.host = host
        self.port = port
        self.stats_port = free_port()
        self.api_ports = [free_port() for _ in range(processes)]
        self.env = dict(os.environ if env is None else env)
        # Behind the balancer the TCP peer is HAProxy: the client address is the one it appends.
        self.env.setdefault("SIGMA_TRUSTED_PROXY_HEADER", "X-Forwarded-For")
        self.dir = Path(tempfile.mkdtemp(prefix="sigma-cluster-"))
        self.log_dir = log_dir
        self.check_ms = check_ms
        self.apis: list[subprocess.Popen[bytes] | None] = [None] * processes
        self.haproxy: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def server_name(self, index: int) -> str:
        return f"api{index + 1}"

    def _output(self, name: str) -> IO[bytes] | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
        self._logs.append(handle)
        return handle

    def start_api(self, index: int) -> None:
        env = dict(self.env, SIGMA_HOST="127.0.0.1", SIGMA_PORT=str(self.api_ports[index]))
        out = self._output(self.server_name(index))
        self.apis[index] = subprocess.Popen(
            [sys.executable, "-m", "sigma_graphql.commands.cli", "serve", "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
        )

    def config(self) -> str:
        servers = "\n".join(
            f"    server {self.server_name(i)} 127.0.0.1:{p}" for i, p in enumerate(self.api_ports)
        )
        return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
            bind=f"{self.host}:{self.port}",
            stats_bind=f"127.0.0.1:{self.stats_port}",
            servers=servers,
            check_ms=self.check_ms,
        )

    def start(self, timeout_s: float = 90.0) -> Cluster:
        try:
            for i in range(len(self.api_ports)):
                self.start_api(i)
            deadline = time.monotonic() + timeout_s
            for i, port in enumerate(self.api_ports):
                self._wait(f"http://127.0.0.1:{port}/health", deadline, self.apis[i])
            cfg = self.dir / "haproxy.cfg"
            cfg.write_text(self.config(), encoding="utf-8")
            out = self._output("haproxy")
            self.haproxy = subprocess.Popen(
                [haproxy_binary(), "-db", "-f", str(cfg)],
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
            )
            self._wait(f"{self.url}/health", deadline, self.haproxy)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, url: str, deadline: float, proc: subprocess.Popen[bytes] | None) -> None:
        while not _answers(url):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in time")
            time.sleep(0.1)

    def kill(self, index: int) -> None:
        """SIGKILL of one API process (no graceful shutdown), as a crash would."""
        proc = self.apis[index]
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)

    def server_status(self) -> dict[str, str]:
        """HAProxy's view of each API process (UP, DOWN, ...), from its stats page."""
        url = f"http://127.0.0.1:{self.stats_port}/stats;csv"
        with urllib.request.urlopen(url, timeout=2) as resp:
            lines = resp.read().decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        status: dict[str, str] = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "sigma" and row.get("svname", "").startswith("api"):
                status[row["svname"]] = row.get("status", "")
        return status

    def stop(self) -> None:
        for proc in [self.haproxy, *self.apis]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [self.haproxy, *self.apis]:
            if proc is not None:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        for handle in self._logs:
            handle.close()
        self._logs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--processes", type=int, default=3, help="API processes (default 3)")
    p.add_argument("--port", type=int, default=8080, help="the load balancer's port")
    p.add_argument("--host", default="127.0.0.1")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    del settings  # each process loads the same SIGMA_* settings itself
    cluster = Cluster(args.processes, args.port, host=args.host).start()
    ports = ", ".join(str(p) for p in cluster.api_ports)
    print(f"sigma-graphql: {args.processes} API processes (ports {ports}) behind HAProxy")
    print(f"sigma-graphql: serving on {cluster.url}/graphql; Ctrl-C stops all")
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            time.sleep(0.5)
            for i, proc in enumerate(cluster.apis):
                if proc is not None and proc.poll() is not None:
                    # A crashed process is started again; HAProxy takes it back once it answers.
                    print(f"sigma-graphql: {cluster.server_name(i)} exited, restarting")
                    cluster.start_api(i)
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(Exception):
            cluster.stop()
    return 0


RUN_CLUSTER = Command("N API processes behind HAProxy on one port", _args, _run)
