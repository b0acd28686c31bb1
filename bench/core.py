"""B2: graphql-core alone, executing the same document on the contract's SDL with plain
resolvers. Root fields call the B1 builders (same database calls); everything below them is
graphql-core's default resolver reading dict keys. Parse and validation are cached like
Strawberry's ParserCache/ValidationCache."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    parse,
    validate,
)

from bench import raw

SDL = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


def _root_resolver(builder: raw.Builder) -> Any:
    async def resolve(_root: Any, info: GraphQLResolveInfo[Any], **_args: Any) -> Any:
        ctx = info.context
        return await builder(raw.Request(ctx.dbs, ctx.viewer, dict(info.variable_values.coerced)))

    return resolve


def make_schema(shape: str) -> GraphQLSchema:
    schema = build_schema(SDL.read_text(encoding="utf-8"))
    for name, builder in raw.BUILDERS[shape].items():
        root = schema.mutation_type if name == "submitFinancialLog" else schema.query_type
        assert root is not None
        root.fields[name].resolve = _root_resolver(builder)
    return schema


@lru_cache(maxsize=128)
def parsed(query: str) -> DocumentNode:
    return parse(query)


_validated: dict[tuple[int, str], list[GraphQLError]] = {}


def validated(schema: GraphQLSchema, query: str) -> list[GraphQLError]:
    key = (id(schema), query)
    found = _validated.get(key)
    if found is None:
        found = _validated[key] = validate(schema, parsed(query))
    return found
