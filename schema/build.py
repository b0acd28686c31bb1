"""Builds the Strawberry schema with the extensions and limits the settings ask for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.root import Mutation, Query, Subscription
from schema.types.scalars import SCALAR_MAP
from sigma_graphql.core.settings import Settings
from sigma_graphql.execution.extensions import (
    ErrorPolicy,
    RoundTripReporter,
    SafeParserCache,
    log_unexpected,
)
from sigma_graphql.execution.fast_execution import FastExecutor, streamline
from sigma_graphql.execution.subscription_transport import SubscriptionsOverWebSocket
from sigma_graphql.execution.suggestions import QuietValidationCache, quiet_execute
from sigma_graphql.limits.argument_guard import argument_guard_factory
from sigma_graphql.limits.cost import cost_limiter_factory
from sigma_graphql.limits.document_limits import limit_rule
from sigma_graphql.limits.response_cache import response_cache_factory

log = logging.getLogger(__name__)


class SigmaSchema(strawberry.Schema):
    # Set by build_schema: no "Did you mean" suggestions when introspection is off.
    hide_suggestions = False

    def _get_execute_function(self) -> Callable[..., Any]:
        if self.hide_suggestions and not self.config.enable_experimental_incremental_execution:
            return quiet_execute
        return super()._get_execute_function()

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        rid = getattr(getattr(execution_context, "context", None), "request_id", "-")
        for error in errors:
            log_unexpected(error, rid)


def extension_factories(settings: Settings) -> list[Any]:
    # Built once here: ValidationCache's key includes the rule classes, so a rule class made per
    # request would make every request miss the cache.
    limit_rules: list[type[ASTValidationRule]] = [
        limit_rule(settings.max_depth, settings.max_aliases, settings.max_tokens)
    ]
    exts: list[Any] = [
        ErrorPolicy,
        lambda: SafeParserCache(maxsize=512),
        (lambda: QuietValidationCache(maxsize=512))
        if not settings.introspection
        else (lambda: ValidationCache(maxsize=512)),
        argument_guard_factory(),  # after ValidationCache: checks validated documents only
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(limit_rules),
        SubscriptionsOverWebSocket,
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
    schema.hide_suggestions = not settings.introspection
    if settings.fast_execution:
        streamline(schema)
    return schema


def export_sdl() -> str:
    """The served schema as SDL (schema/schema.graphql is kept equal to it by a test)."""
    return build_schema(Settings()).as_str() + "\n"
