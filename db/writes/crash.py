"""Test hooks shared by the ordered two-step writes: die like a killed process at a named point
(crash_point), or let an in-process test act there (fault_point)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

CRASH_ENV = "SIGMA_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """No cleanup, no flush: exactly what a kill between two writes leaves behind."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(1)


_HOOKS: dict[str, Callable[[], Awaitable[None]]] = {}


def set_fault_hook(name: str, hook: Callable[[], Awaitable[None]] | None) -> None:
    """Tests only: `hook` runs (in the writer's event loop) whenever a write reaches `name`, so
    a test can take a database away at exactly that point; None removes it."""
    if hook is None:
        _HOOKS.pop(name, None)
    else:
        _HOOKS[name] = hook


async def fault_point(name: str) -> None:
    """crash_point, plus the test hook of that name if one is set."""
    crash_point(name)
    hook = _HOOKS.get(name)
    if hook is not None:
        await hook()
