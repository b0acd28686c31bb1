"""Builds the Strawberry schema with the extensions and limits the settings ask for."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.root import Mutation, Query, Subscription
from schema.scalars import SCALAR_MAP
from sigma_graphql.argument_guard import argument_guard_factory
from sigma_graphql.cost import cost_limiter_factory
from sigma_graphql.extensions import (
    ErrorPolicy,
    RoundTripReporter,
    SafeParserCache,
    log_unexpected,
)
from sigma_graphql.fast_execution import FastExecutor, streamline
from sigma_graphql.response_cache import response_cache_factory
from sigma_graphql.settings import Settings

log = logging.getLogger(__name__)


class SigmaSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        rid = getattr(getattr(execution_context, "context", None), "request_id", "-")
        for error in errors:
            log_unexpected(error, rid)


def extension_factories(settings: Settings) -> list[Any]:
    # QueryDepthLimiter and MaxAliasesLimiter create a new rule class per instance, i.e. per
    # request, which made every request miss ValidationCache (its key includes the rules).
    # Built once here, the rules are the same objects for every request and validation is cached.
    limit_rules = [
        *QueryDepthLimiter(max_depth=settings.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    exts: list[Any] = [
        ErrorPolicy,
        lambda: SafeParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        argument_guard_factory(),  # after ValidationCache: checks validated documents only
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(limit_rules),
        cost_limiter_factory(settings),
    ]
    cache = response_cache_factory(settings)
    if cache is not None:  # after CostLimiter: answers from memory are charged too
        exts.append(cache)
    if not settings.introspection:
        exts.append(DisableIntrospection)
    if settings.expose_round_trips:
        exts.append(RoundTripReporter)
    return exts


def build_schema(
    settings: Settings, extra_extensions: list[type[SchemaExtension]] | None = None
) -> SigmaSchema:
    schema = SigmaSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[*extension_factories(settings), *(extra_extensions or [])],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=FastExecutor if settings.fast_execution else None,
    )
    if settings.fast_execution:
        streamline(schema)
    return schema


def export_sdl() -> str:
    """The served schema as SDL (schema/schema.graphql is kept equal to it by a test)."""
    from sigma_graphql.settings import Settings as _S

    return build_schema(_S()).as_str() + "\n"
