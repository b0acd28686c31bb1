"""The extension runner of the served schema (sigma_graphql/execution/hook_runner.py) runs the
same hooks in the same order as Strawberry's, for every kind of hook an extension may define,
around successful operations, failing resolvers and refused documents alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from graphql.execution import MiddlewareManager
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from sigma_graphql.execution.hook_runner import CachedHooksRunner, HookTable, middleware

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
