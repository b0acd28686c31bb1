"""The extension runner of the served schema (sigma_graphql/execution/hook_runner.py) runs the
same hooks in the same order as Strawberry's, for every kind of hook an extension may define,
around successful operations, failing resolvers and refused documents alike."""

from __future__ import annotations

import contextlib
import inspect
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from graphql.execution import MiddlewareManager
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from sigma_graphql.execution.hook_runner import (
    AGEN,
    GEN,
    CachedHooksRunner,
    HookTable,
    _Phase,
    middleware,
)

EVENTS: list[str] = []


class Generators(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        EVENTS.append("gen operation >")
        yield
        EVENTS.append("gen operation <")

    def on_parse(self) -> Iterator[None]:
        EVENTS.append("gen parse >")
        yield
        EVENTS.append("gen parse <")

    def on_execute(self) -> Iterator[None]:
        EVENTS.append("gen execute >")
        try:
            yield
        except Exception as exc:  # what a failing phase throws into the hook
            EVENTS.append(f"gen execute saw {type(exc).__name__}")
            raise
        EVENTS.append("gen execute <")


class AsyncGenerators(SchemaExtension):
    async def on_validate(self) -> AsyncIterator[None]:
        EVENTS.append("agen validate >")
        yield
        EVENTS.append("agen validate <")

    async def on_execute(self) -> AsyncIterator[None]:
        EVENTS.append("agen execute >")
        yield
        EVENTS.append("agen execute <")

    async def get_results(self) -> dict[str, Any]:
        return {"asyncResult": len(EVENTS)}


class PlainCalls(SchemaExtension):
    def on_validate(self) -> None:  # type: ignore[override]  # a plain call is allowed
        EVENTS.append("plain validate")

    async def on_execute(self) -> None:  # type: ignore[override]
        EVENTS.append("coroutine execute")

    def get_results(self) -> dict[str, Any]:
        return {"plain": True}


class Resolving(SchemaExtension):
    """Per field (graphql-core middleware)."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        EVENTS.append(f"resolve {info.field_name}")
        return _next(root, info, *args, **kwargs)


class Silent(SchemaExtension):
    """No hook at all: asked nothing, reports nothing."""


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        EVENTS.append("resolver")
        return "hai"

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("rusak")


class CachedSchema(strawberry.Schema):
    table = HookTable()

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return CachedHooksRunner(execution_context, extensions, self.table)

    def _get_middleware_manager(self, extensions: list[SchemaExtension]) -> MiddlewareManager:
        return middleware(self.table, extensions)


EXTENSIONS = [Generators, AsyncGenerators, PlainCalls, Resolving, Silent]
STOCK = strawberry.Schema(Query, extensions=EXTENSIONS)
CACHED = CachedSchema(Query, extensions=EXTENSIONS)


async def _run(schema: strawberry.Schema, document: str) -> tuple[list[str], Any]:
    EVENTS.clear()
    result = await schema.execute(document)
    return list(EVENTS), (result.data, [e.message for e in result.errors or []], result.extensions)


@pytest.mark.parametrize("document", ["{ hello }", "{ broken }", "{ nope }", "{ hello"])
async def test_hooks_run_as_strawberrys_runner_runs_them(document: str) -> None:
    stock = await _run(STOCK, document)
    cached = await _run(CACHED, document)
    assert cached == stock
    assert stock[0], "the extensions ran"
    if document == "{ hello }":
        assert "resolve hello" in stock[0]
    for _ in range(2):  # and again, from the table the first request filled
        assert await _run(CACHED, document) == stock


def test_a_synchronous_execution_refuses_an_asynchronous_hook_as_before() -> None:
    with pytest.raises(RuntimeError):
        STOCK.execute_sync("{ hello }")
    with pytest.raises(RuntimeError):
        CACHED.execute_sync("{ hello }")


def test_the_table_holds_one_plan_per_list_of_extension_classes() -> None:
    table = HookTable()
    plan = table.plan((Generators, Silent, PlainCalls, Resolving))
    assert table.plan((Generators, Silent, PlainCalls, Resolving)) is plan
    assert [i for i, *_ in plan.hooks["on_execute"]] == [0, 2]
    assert [i for i, *_ in plan.hooks["on_validate"]] == [2]
    assert plan.hooks["on_stream_result"] == []
    assert plan.reporting == [2]
    assert plan.resolving == [3]


# ---------------------------------------------------------------- misbehaving hooks
# The runner drives generator hooks itself (sigma_graphql/execution/hook_exits.py); these cases
# hold it to what contextlib's wrappers on an (Async)ExitStack do, as Strawberry uses them.

TRACE: list[str] = []


def _ok(_ext: Any) -> Iterator[None]:
    TRACE.append("ok >")
    yield
    TRACE.append("ok <")


def _reraise(_ext: Any) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        TRACE.append(f"saw {exc}")
        raise


def _swallow(_ext: Any) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        TRACE.append(f"swallowed {exc}")


def _replace(_ext: Any) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        raise KeyError("ganti") from exc


def _fail_leaving(_ext: Any) -> Iterator[None]:
    yield
    raise OSError("keluar")


def _twice(_ext: Any) -> Iterator[None]:
    yield
    yield


def _no_yield(_ext: Any) -> Iterator[None]:
    TRACE.append("no yield")
    return
    yield  # a generator that never gets here


async def _aok(_ext: Any) -> AsyncIterator[None]:
    TRACE.append("aok >")
    yield
    TRACE.append("aok <")


async def _aswallow(_ext: Any) -> AsyncIterator[None]:
    try:
        yield
    except Exception as exc:
        TRACE.append(f"aswallowed {exc}")


async def _areplace(_ext: Any) -> AsyncIterator[None]:
    try:
        yield
    except Exception:
        raise LookupError("aganti") from None


async def _afail_leaving(_ext: Any) -> AsyncIterator[None]:
    yield
    raise OSError("akeluar")


SYNC_HOOKS: list[Any] = [_ok, _reraise, _swallow, _replace, _fail_leaving, _twice, _no_yield]
ASYNC_HOOKS: list[Any] = [_aok, _aswallow, _areplace, _afail_leaving]


def _chain(exc: BaseException | None) -> list[str]:
    found: list[str] = []
    while exc is not None and len(found) < 4:
        found.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__context__
    return found


class _ReferencePhase:
    """Strawberry's phase: contextlib wrappers entered on an ExitStack / AsyncExitStack."""

    def __init__(self, hooks: list[Any]) -> None:
        self.hooks = hooks

    def __enter__(self) -> None:
        self.stack = contextlib.ExitStack()
        self.stack.__enter__()
        for hook in self.hooks:
            self.stack.enter_context(contextlib.contextmanager(hook)(None))

    def __exit__(self, *exc: Any) -> None:
        self.stack.__exit__(*exc)

    async def __aenter__(self) -> None:
        self.astack = contextlib.AsyncExitStack()
        await self.astack.__aenter__()
        for hook in self.hooks:
            if inspect.isasyncgenfunction(hook):
                await self.astack.enter_async_context(contextlib.asynccontextmanager(hook)(None))
            else:
                self.astack.enter_context(contextlib.contextmanager(hook)(None))

    async def __aexit__(self, *exc: Any) -> None:
        await self.astack.__aexit__(*exc)


def _ours(hooks: list[Any]) -> _Phase:
    kinds = [AGEN if inspect.isasyncgenfunction(h) else GEN for h in hooks]
    planned = [(i, h, k) for i, (h, k) in enumerate(zip(hooks, kinds, strict=True))]
    no_extensions: list[Any] = [None] * len(hooks)
    return _Phase("on_execute", planned, no_extensions)


def _sync_outcome(phase: Any, body_fails: bool) -> tuple[list[str], list[str]]:
    TRACE.clear()
    try:
        with phase:
            TRACE.append("body")
            if body_fails:
                raise ValueError("badan")
    except Exception as exc:
        return list(TRACE), _chain(exc)
    return list(TRACE), []


async def _async_outcome(phase: Any, body_fails: bool) -> tuple[list[str], list[str]]:
    TRACE.clear()
    try:
        async with phase:
            TRACE.append("body")
            if body_fails:
                raise ValueError("badan")
    except Exception as exc:
        return list(TRACE), _chain(exc)
    return list(TRACE), []


def _pair_id(pair: tuple[Any, ...]) -> str:
    """Test ids from the hooks' names (a function's repr holds its address, which differs
    between pytest-xdist workers)."""
    return "-".join(hook.__name__ for hook in pair)


@pytest.mark.parametrize("body_fails", [False, True])
@pytest.mark.parametrize("pair", list(itertools.product(SYNC_HOOKS, repeat=2)), ids=_pair_id)
def test_generator_hooks_enter_and_leave_as_contextlib_does(pair: Any, body_fails: bool) -> None:
    hooks = list(pair)
    assert _sync_outcome(_ours(hooks), body_fails) == _sync_outcome(
        _ReferencePhase(hooks), body_fails
    )


@pytest.mark.parametrize("body_fails", [False, True])
@pytest.mark.parametrize(
    "pair", list(itertools.product(ASYNC_HOOKS + SYNC_HOOKS[:5], ASYNC_HOOKS)), ids=_pair_id
)
async def test_async_phases_leave_mixed_hooks_as_async_exit_stack_does(
    pair: Any, body_fails: bool
) -> None:
    hooks = list(pair)
    assert await _async_outcome(_ours(hooks), body_fails) == await _async_outcome(
        _ReferencePhase(hooks), body_fails
    )
