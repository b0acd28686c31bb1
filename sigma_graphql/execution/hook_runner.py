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
phase's hooks, found once as unbound functions and called with the instances, and which
classes override `get_results` (only those are asked). The hooks run as Strawberry runs them,
in the same order, with contextlib's rules for entering and leaving generators and ExitStack's
for passing exceptions on (hook_exits.py), but without a context manager object and an exit
stack per hook (about 200 Python calls per request with the served schema's hooks), so
exceptions reach the hooks as before and a synchronous phase still refuses an asynchronous
hook.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from graphql.execution import MiddlewareManager
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext, StreamExecutionResult

from sigma_graphql.execution import hook_exits

# How a phase runs one hook: a generator (`gen`, `agen`) entered up to its yield and resumed at
# the phase's end, or a function (`call`, `coro`) called (awaited) on entering, nothing after.
GEN, AGEN, CALL, CORO = hook_exits.GEN, "agen", "call", "coro"
ASYNC_KINDS = frozenset((AGEN, CORO))
HookFactory = tuple[Callable[..., Any], str]
PHASES = ("on_operation", "on_parse", "on_validate", "on_execute", "on_stream_result")


def _factory(cls: type, name: str) -> HookFactory | None:
    """The hook `name` of an extension class and how to run it; None without one."""
    hook: Any = getattr(cls, name)
    if hook is getattr(SchemaExtension, name):
        return None
    if inspect.isgeneratorfunction(hook):
        return (hook, GEN)
    if inspect.isasyncgenfunction(hook):
        return (hook, AGEN)
    if inspect.iscoroutinefunction(hook):
        return (hook, CORO)
    if callable(hook):
        return (hook, CALL)
    raise ValueError(f"Hook {name} on {cls.__name__} must be callable, received {hook!r}")


@dataclass(frozen=True)
class _Plan:
    """For one list of extension classes: each phase's hooks as (position, function, kind),
    and the positions of the extensions with results of their own."""

    hooks: dict[str, list[tuple[int, Callable[..., Any], str]]]
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
            hooks: dict[str, list[tuple[int, Callable[..., Any], str]]] = {}
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
    """One phase's hooks as a (sync or async) context manager.

    What Strawberry does with `contextlib.contextmanager` wrappers on an ExitStack, done on the
    generators themselves (hook_exits.py keeps contextlib's rules for leaving them): a hook
    that fails on entering stops the phase there (the hooks already entered are not resumed,
    as with ExitStack.enter_context); on leaving, the generators are resumed last first, an
    exception is thrown into each, a hook may swallow it or raise another, which the next one
    then sees; a synchronous phase refuses an asynchronous hook."""

    __slots__ = ("_args", "_entered", "_extensions", "_hooks", "_name")

    def __init__(
        self,
        name: str,
        hooks: list[tuple[int, Callable[..., Any], str]],
        extensions: list[SchemaExtension],
        *args: Any,
    ) -> None:
        self._name = name
        self._hooks = hooks
        self._extensions = extensions
        self._args = args
        self._entered: list[tuple[Any, str]] = []

    def __enter__(self) -> None:
        entered = self._entered
        for i, hook, kind in self._hooks:
            if kind in ASYNC_KINDS:
                raise RuntimeError(
                    f"SchemaExtension hook {self._name} failed to complete synchronously."
                )
            if kind == GEN:
                entered.append((hook_exits.enter(hook(self._extensions[i], *self._args)), GEN))
            else:
                hook(self._extensions[i], *self._args)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        # Like Strawberry's: a hook that swallows an exception does not stop it here.
        if self._entered:
            hook_exits.leave_all(self._entered, exc_val)

    async def __aenter__(self) -> None:
        entered = self._entered
        for i, hook, kind in self._hooks:
            made = hook(self._extensions[i], *self._args)
            if kind == GEN:
                # hook_exits.enter(made) written out: the common case, once per hook and request.
                try:
                    next(made)
                except StopIteration:
                    raise RuntimeError("generator didn't yield") from None
                entered.append((made, GEN))
            elif kind == AGEN:
                entered.append((await hook_exits.aenter(made), AGEN))
            elif kind == CORO:
                await made

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self._entered:
            await hook_exits.aleave_all(self._entered, exc_val)


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
