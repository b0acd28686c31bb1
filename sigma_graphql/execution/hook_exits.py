"""Entering and leaving extension hooks that are generators, with contextlib's rules but
without its objects (sigma_graphql/execution/hook_runner.py).

Strawberry wraps every generator hook in `contextlib.contextmanager` and enters the phase's
hooks on an ExitStack; here the generators are driven directly. What the wrappers decide is
kept, rule for rule (CPython 3.11's contextlib):
- entering runs the generator to its first `yield`; one that does not yield is a RuntimeError;
- leaving resumes it and expects it to stop (one that yields again is a RuntimeError); with an
  exception, the exception is thrown in at the `yield`: a hook that returns swallows it, one
  that re-raises it lets it go on, one that raises another replaces it;
- the hooks are left last first, each seeing the exception as the previous one left it
  (ExitStack): a swallowed exception is gone for the hooks after, a new one is raised at the
  end with its context chained to the one it replaced.
tests/test_hook_runner.py compares both, event by event and exception by exception.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Generator
from typing import Any

GEN = "gen"  # as hook_runner.GEN: a synchronous generator


def enter(gen: Generator[Any, None, None]) -> Generator[Any, None, None]:
    try:
        next(gen)
    except StopIteration:
        raise RuntimeError("generator didn't yield") from None
    return gen


async def aenter(gen: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    try:
        await anext(gen)
    except StopAsyncIteration:
        raise RuntimeError("generator didn't yield") from None
    return gen


def _throw(gen: Generator[Any, None, None], value: BaseException) -> bool:
    """contextmanager's __exit__ with an exception: True when the hook swallowed `value`.
    (Without one, the callers resume the generator themselves: leave_all, aleave_all.)"""
    traceback = value.__traceback__
    try:
        gen.throw(value)
    except StopIteration as exc:
        return exc is not value
    except BaseException as exc:
        if exc is not value and not _wrapped(exc, value, StopIteration):
            raise
        value.__traceback__ = traceback
        return False
    raise RuntimeError("generator didn't stop after throw()")


def _wrapped(
    exc: BaseException, value: BaseException, stops: type[Exception] | tuple[type[Exception], ...]
) -> bool:
    """contextlib's: `exc` is the RuntimeError Python made of a StopIteration thrown into a
    generator (PEP 479), which counts as `value` itself going on."""
    return isinstance(exc, RuntimeError) and isinstance(value, stops) and exc.__cause__ is value


async def _aleave(gen: AsyncGenerator[Any, None], value: BaseException | None) -> bool:
    """asynccontextmanager's __aexit__: True when the hook swallowed `value`."""
    if value is None:
        try:
            await anext(gen)
        except StopAsyncIteration:
            return False
        raise RuntimeError("generator didn't stop")
    traceback = value.__traceback__
    try:
        await gen.athrow(value)
    except StopAsyncIteration as exc:
        return exc is not value
    except BaseException as exc:
        if exc is not value and not _wrapped(exc, value, (StopIteration, StopAsyncIteration)):
            raise
        value.__traceback__ = traceback
        return False
    raise RuntimeError("generator didn't stop after athrow()")


def _fix_context(
    new: BaseException, old: BaseException | None, frame: BaseException | None
) -> None:
    """ExitStack's: chain `new` to `old` unless it already is (through its own context)."""
    while True:
        context = new.__context__
        if context is None or context is old:
            return
        if context is frame:
            break
        new = context
    new.__context__ = old


def _raise(pending: BaseException) -> None:
    context = pending.__context__
    try:
        raise pending
    except BaseException:
        pending.__context__ = context
        raise


def leave_all(entered: list[tuple[Any, str]], value: BaseException | None) -> None:
    """Leaves the entered generators, last first (ExitStack.__exit__); raises what a hook
    raised instead of `value`. A swallowed `value` is not the caller's to drop: the phase
    lets it go on, as Strawberry's does."""
    frame = sys.exc_info()[1]
    pending = False
    while entered:
        gen = entered.pop()[0]
        try:
            if value is None:
                # contextmanager's __exit__ without an exception: resumed, expected to stop.
                try:
                    next(gen)
                except StopIteration:
                    continue
                raise RuntimeError("generator didn't stop")
            if _throw(gen, value):
                value, pending = None, False
        except BaseException as new:
            _fix_context(new, value, frame)
            value, pending = new, True
    if pending and value is not None:
        _raise(value)


async def aleave_all(entered: list[tuple[Any, str]], value: BaseException | None) -> None:
    """leave_all for a phase with asynchronous hooks (AsyncExitStack.__aexit__)."""
    frame = sys.exc_info()[1]
    pending = False
    while entered:
        gen, kind = entered.pop()
        try:
            if kind != GEN:
                swallowed = await _aleave(gen, value)
            elif value is None:
                # As in leave_all.
                try:
                    next(gen)
                except StopIteration:
                    continue
                raise RuntimeError("generator didn't stop")
            else:
                swallowed = _throw(gen, value)
            if swallowed:
                value, pending = None, False
        except BaseException as new:
            _fix_context(new, value, frame)
            value, pending = new, True
    if pending and value is not None:
        _raise(value)
