"""Builds the Strawberry schema with the extensions and limits the settings ask for."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.execution import MiddlewareManager
from graphql.validation import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.permission import PermissionExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition
from strawberry.types.graphql import OperationType

from schema.root import Mutation, Query, Subscription
from schema.types.scalars import SCALAR_MAP, WHOLE_SCALARS
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.settings import Settings
from sigma_graphql.execution.cycle_free import CycleFreeExecutor
from sigma_graphql.execution.execution_context import SigmaExecutionContext
from sigma_graphql.execution.extensions import (
    ErrorPolicy,
    RoundTripReporter,
    SafeParserCache,
    log_unexpected,
)
from sigma_graphql.execution.fast_execution import FastExecutor, streamline
from sigma_graphql.execution.hook_runner import CachedHooksRunner, HookTable, middleware
from sigma_graphql.execution.observe import observer_factory
from sigma_graphql.execution.operation_choice import RequireOperationName
from sigma_graphql.execution.subscription_transport import SubscriptionsOverWebSocket
from sigma_graphql.execution.suggestions import QuietValidationCache, quiet_execute
from sigma_graphql.execution.trusted_sockets import TrustedDocumentsOverWebSocket
from sigma_graphql.execution.validation_cache import DocumentValidationCache
from sigma_graphql.limits.argument_guard import argument_guard_factory
from sigma_graphql.limits.cost import cost_limiter_factory
from sigma_graphql.limits.document_limits import limit_rule
from sigma_graphql.limits.machine_scope import MachineScope
from sigma_graphql.limits.response_cache import response_cache_factory
from sigma_graphql.permissions import ROOT_ACCESS, allow

log = logging.getLogger(__name__)


class SigmaSchema(strawberry.Schema):
    # Set by build_schema: no "Did you mean" suggestions when introspection is off.
    hide_suggestions = False
    hook_table: HookTable  # set by build_schema (sigma_graphql/execution/hook_runner.py)

    def _get_execute_function(self) -> Callable[..., Any]:
        if self.hide_suggestions and not self.config.enable_experimental_incremental_execution:
            return quiet_execute
        return super()._get_execute_function()

    def _create_execution_context(
        self,
        query: str | None,
        allowed_operation_types: Iterable[OperationType],
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionContext:
        # The operation's name and type read once per document (execution_context.py).
        return SigmaExecutionContext(
            query=query,
            schema=self,
            allowed_operations=allowed_operation_types,
            context=context_value,
            root_value=root_value,
            variables=variable_values,
            provided_operation_name=operation_name,
            operation_extensions=operation_extensions,
        )

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return CachedHooksRunner(execution_context, extensions, self.hook_table)

    def _get_middleware_manager(self, extensions: list[SchemaExtension]) -> MiddlewareManager:
        return middleware(self.hook_table, extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        rid = getattr(getattr(execution_context, "context", None), "request_id", "-")
        for error in errors:
            log_unexpected(error, rid)


def extension_factories(settings: Settings, pubsub: PubSub | None = None) -> list[Any]:
    # Built once here: ValidationCache's key includes the rule classes, so a rule class made per
    # request would make every request miss the cache.
    limit_rules: list[type[ASTValidationRule]] = [
        limit_rule(settings.max_depth, settings.max_aliases, settings.max_tokens)
    ]
    exts: list[Any] = [
        # First, so its on_operation exits last and sees the classified answer.
        observer_factory(settings.metrics_max_operation_names),
        ErrorPolicy,
        lambda: SafeParserCache(maxsize=512),
        (lambda: QuietValidationCache(maxsize=512))
        if not settings.introspection
        else (lambda: DocumentValidationCache(maxsize=512)),
        argument_guard_factory(),  # after ValidationCache: checks validated documents only
        RequireOperationName,  # after ValidationCache: adds to its errors
        MachineScope,  # API keys: machine operations only, refused before any budget is spent
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(limit_rules),
        SubscriptionsOverWebSocket,
        cost_limiter_factory(settings, pubsub),
    ]
    if settings.trusted_documents_only:  # after ValidationCache: adds to its errors
        exts.append(TrustedDocumentsOverWebSocket)
    cache = response_cache_factory(settings, pubsub)
    if cache is not None:  # after CostLimiter: answers from memory are charged too
        exts.append(cache)
    if not settings.introspection:
        exts.append(DisableIntrospection)
    if settings.expose_round_trips:
        exts.append(RoundTripReporter)
    return exts


class RootAccessMismatch(Exception):
    """The root types and ROOT_ACCESS disagree: the schema is not built."""


def attach_root_guards(config: StrawberryConfig, *root_types: type) -> None:
    """Gives every field of the root types the guard ROOT_ACCESS names for it.

    Building refuses a root field the table does not list (it would otherwise be open to
    everyone without anyone having decided so) and a table entry no root field has (a guard
    that protects nothing hides a renamed field). The fields are changed in place before
    Strawberry converts them; the guards follow from the table alone, so building twice
    attaches the same guards (docs/architecture.md, "Permissions")."""
    definitions = [get_object_definition(t, strict=True) for t in root_types]
    fields = {
        f"{definition.name}.{config.name_converter.from_field(field)}": field
        for definition in definitions
        for field in definition.fields
    }
    type_names = {definition.name for definition in definitions}
    listed = {op for op in ROOT_ACCESS if op.split(".")[0] in type_names}
    unlisted = sorted(fields.keys() - listed)
    stale = sorted(listed - fields.keys())
    if unlisted or stale:
        problems = []
        if unlisted:
            problems.append(f"root fields missing from ROOT_ACCESS: {', '.join(unlisted)}")
        if stale:
            problems.append(f"ROOT_ACCESS entries without a root field: {', '.join(stale)}")
        raise RootAccessMismatch(
            "; ".join(problems) + " (give every root field its audiences in "
            "sigma_graphql/permissions.py ROOT_ACCESS)"
        )
    for operation, field in fields.items():
        guards = allow(operation)
        field.permission_classes = guards
        field.extensions = [e for e in field.extensions if not isinstance(e, PermissionExtension)]
        if guards:
            field.extensions.append(
                PermissionExtension([guard() for guard in guards], use_directives=False)
            )


def build_schema(
    settings: Settings,
    extra_extensions: list[type[SchemaExtension]] | None = None,
    *,
    query: type = Query,
    mutation: type = Mutation,
    subscription: type = Subscription,
    pubsub: PubSub | None = None,
) -> SigmaSchema:
    """The served schema; other root types only in tests (e.g. proving an unlisted root field
    refuses to build). `pubsub` (the app's) carries cache invalidations and budget hints to
    other API processes (issue 17)."""
    config = StrawberryConfig(scalar_map=SCALAR_MAP)
    attach_root_guards(config, query, mutation, subscription)
    schema = SigmaSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=[*extension_factories(settings, pubsub), *(extra_extensions or [])],
        config=config,
        execution_context_class=FastExecutor if settings.fast_execution else CycleFreeExecutor,
    )
    schema.hide_suggestions = not settings.introspection
    schema.hook_table = HookTable()
    if settings.fast_execution:
        streamline(schema, WHOLE_SCALARS)
    return schema


def export_sdl() -> str:
    """The served schema as SDL (schema/schema.graphql is kept equal to it by a test)."""
    return build_schema(Settings()).as_str() + "\n"
