"""Strawberry's extension runner with each hook looked up once per extension class.

For every request and every phase (operation, parsing, validation, execution, each streamed
result) Strawberry's runner asks each extension instance whether it implements the phase's
hook (`inspect.isgeneratorfunction`, ...) and wraps the bound method with
`contextlib.contextmanager`, which copies the method's metadata (`functools.update_wrapper`);
at the end it awaits every extension's `get_results`, the default `{}` included, through
`inspect.isawaitable`. With the schema's dozen extensions (schema/build.py) that was about
500 of the 4,000 Python calls of a one-item catalogue request (`python -m bench.calls`,
bench/README.md), and none of it can change between requests: hooks are methods of the class.

Here the schema keeps a HookTable: for the list of extension classes it makes per request, each
phase's wrappers, built once from the unbound functions and called with the instances, and
which classes override `get_results` (only those are asked). Everything else is
Strawberry's: the same hooks in the same order, entered on an ExitStack / AsyncExitStack like
`strawberry.extensions.context`, so exceptions reach the hooks as before and a synchronous
phase still refuses an asynchronous hook.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from graphql.execution import MiddlewareManager
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext, StreamExecutionResult

# (factory(extension, *args) -> context manager, is_async); `args` is the streamed result for
# on_stream_result, nothing for the other phases.
HookFactory = tuple[Callable[..., Any], bool]
PHASES = ("on_operation", "on_parse", "on_validate", "on_execute", "on_stream_result")


def _factory(cls: type, name: str) -> HookFactory | None:
    """The hook `name` of an extension class as a context manager factory; None without one."""
    hook: Any = getattr(cls, name)
    if hook is getattr(SchemaExtension, name):
        return None
    if inspect.isgeneratorfunction(hook):
        return (contextlib.contextmanager(hook), False)
    if inspect.isasyncgenfunction(hook):
        return (contextlib.asynccontextmanager(hook), True)
    if inspect.iscoroutinefunction(hook):

        @contextlib.asynccontextmanager
        async def awaited(ext: SchemaExtension, *args: Any) -> AsyncIterator[None]:
            await hook(ext, *args)
            yield

        return (awaited, True)
    if callable(hook):

        @contextlib.contextmanager
        def called(ext: SchemaExtension, *args: Any) -> Iterator[None]:
            hook(ext, *args)
            yield

        return (called, False)
    raise ValueError(f"Hook {name} on {cls.__name__} must be callable, received {hook!r}")


@dataclass(frozen=True)
class _Plan:
    """For one list of extension classes: each phase's hooks as (position, factory, is_async),
    and the positions of the extensions with results of their own."""

    hooks: dict[str, list[tuple[int, Callable[..., Any], bool]]]
    reporting: list[int]
    resolving: list[int]  # extensions with a per-field `resolve` (graphql-core middleware)


class HookTable:
    """One per schema: the plan of each list of extension classes it has seen (a schema makes
    the same list for every request)."""

    def __init__(self) -> None:
        self._plans: dict[tuple[type[SchemaExtension], ...], _Plan] = {}

    def plan(self, classes: tuple[type[SchemaExtension], ...]) -> _Plan:
        found = self._plans.get(classes)
        if found is None:
            hooks: dict[str, list[tuple[int, Callable[..., Any], bool]]] = {}
            for name in PHASES:
                hooks[name] = []
                for position, cls in enumerate(classes):
                    made = _factory(cls, name)
                    if made is not None:
                        hooks[name].append((position, *made))
            default = SchemaExtension.get_results
            reporting = [i for i, cls in enumerate(classes) if cls.get_results is not default]
            resolving = [i for i, cls in enumerate(classes) if cls._implements_resolve()]
            found = self._plans[classes] = _Plan(hooks, reporting, resolving)
        return found


class _Phase:
    """One phase's hooks as a (sync or async) context manager."""

    __slots__ = ("_async_stack", "_hooks", "_name", "_stack")

    def __init__(
        self,
        name: str,
        hooks: list[tuple[int, Callable[..., Any], bool]],
        extensions: list[SchemaExtension],
        *args: Any,
    ) -> None:
        self._name = name
        self._hooks = [(factory(extensions[i], *args), is_async) for i, factory, is_async in hooks]

    def __enter__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._stack.__enter__()
        for manager, is_async in self._hooks:
            if is_async:
                raise RuntimeError(
                    f"SchemaExtension hook {self._name} failed to complete synchronously."
                )
            self._stack.enter_context(manager)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        # Like Strawberry's: a hook that swallows an exception does not stop it here.
        self._stack.__exit__(exc_type, exc_val, exc_tb)

    async def __aenter__(self) -> None:
        self._async_stack = contextlib.AsyncExitStack()
        await self._async_stack.__aenter__()
        for manager, is_async in self._hooks:
            if is_async:
                await self._async_stack.enter_async_context(manager)
            else:
                self._async_stack.enter_context(manager)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self._async_stack.__aexit__(exc_type, exc_val, exc_tb)


def middleware(table: HookTable, extensions: list[SchemaExtension]) -> MiddlewareManager:
    """Strawberry's per-request middleware manager (the extensions implementing `resolve`),
    from the table instead of asking each extension."""
    plan = table.plan(tuple(map(type, extensions)))
    return MiddlewareManager(*(extensions[i] for i in plan.resolving))


class CachedHooksRunner(SchemaExtensionsRunner):
    """SchemaExtensionsRunner whose phases use the per-class hook wrappers (module docstring)."""

    def __init__(
        self,
        execution_context: ExecutionContext,
        extensions: list[SchemaExtension],
        table: HookTable,
    ) -> None:
        super().__init__(execution_context, extensions)
        self._plan = table.plan(tuple(map(type, self.extensions)))

    def _phase(self, name: str, *args: Any) -> _Phase:
        return _Phase(name, self._plan.hooks[name], self.extensions, *args)

    def operation(self) -> Any:
        return self._phase("on_operation")

    def validation(self) -> Any:
        return self._phase("on_validate")

    def parsing(self) -> Any:
        return self._phase("on_parse")

    def executing(self) -> Any:
        return self._phase("on_execute")

    def on_stream_result(self, result: StreamExecutionResult) -> Any:
        return self._phase("on_stream_result", result)

    def get_extensions_results_sync(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for i in self._plan.reporting:
            extension = self.extensions[i]
            if inspect.iscoroutinefunction(extension.get_results):
                raise RuntimeError("Cannot use async extension hook during sync execution")
            data.update(extension.get_results())  # type: ignore[arg-type]
        return data

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for i in self._plan.reporting:
            found: Any = self.extensions[i].get_results()
            if not isinstance(found, dict) and inspect.isawaitable(found):
                found = await found
            data.update(found)
        data.update(ctx.extensions_results)
        return data
