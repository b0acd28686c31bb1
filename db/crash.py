"""Test hook shared by the ordered two-step writes: die like a killed process at a named point."""

from __future__ import annotations

import os

CRASH_ENV = "SIGMA_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """No cleanup, no flush: exactly what a kill between two writes leaves behind."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(1)
