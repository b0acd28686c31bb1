"""The API process freezes its start-up heap once (sigma_graphql/core/heap.py, issue 16)."""

from __future__ import annotations

import gc
import subprocess
import sys

from sigma_graphql.core import heap
from tests.support import LiveServer


def test_a_started_server_has_frozen_its_startup_heap(server: LiveServer) -> None:
    assert server.server.started
    assert heap._settled
    assert gc.get_freeze_count() > 0


def test_settle_collects_and_freezes_once_per_process() -> None:
    code = (
        "import gc\n"
        "from sigma_graphql.core import heap\n"
        "assert gc.get_freeze_count() == 0\n"
        "keep = [[i] for i in range(1000)]\n"
        "assert heap.settle_after_startup() is True\n"
        "frozen = gc.get_freeze_count()\n"
        "assert frozen >= 1000, frozen\n"
        "assert heap.settle_after_startup() is False\n"
        "assert gc.get_freeze_count() == frozen\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
