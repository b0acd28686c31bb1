"""No "Did you mean ...?" in errors when introspection is off (issue 11, finding 7).

Suggestions name fields, arguments, types and enum values close to what a client typed, i.e.
they reveal the schema that turning introspection off hides. graphql-core 3.3 has the switch
(`hide_suggestions` on `validate` and `execute`); Strawberry passes neither, so:
- QuietValidationCache validates (and caches) like Strawberry's ValidationCache, with
  suggestions hidden: fields, arguments, types, enum values and input fields in documents;
- quiet_execute is graphql-core's execute with suggestions hidden: the same in `variables`
  (SigmaSchema uses it for queries and mutations on every transport).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import cache, lru_cache, partial
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, execute, validate
from graphql.validation import ASTValidationRule
from strawberry.extensions import ValidationCache
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule


def _validate_quietly(
    schema: GraphQLSchema, document: DocumentNode, rules: Collection[type[ASTValidationRule]]
) -> list[GraphQLError]:
    # The two rules Strawberry's own validate_document appends to every rule list.
    all_rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, all_rules, hide_suggestions=True)


@cache
def _cached(maxsize: int | None) -> Callable[..., list[GraphQLError]]:
    # One cache per size for the process, like ValidationCache's (keyed by schema, document
    # and rules, so schemas never see each other's results).
    return lru_cache(maxsize=maxsize)(_validate_quietly)


class QuietValidationCache(ValidationCache):
    def __init__(self, maxsize: int | None = 512) -> None:
        super().__init__(maxsize)
        self.cached_validate_document = _cached(maxsize)


quiet_execute: Callable[..., Any] = partial(execute, hide_suggestions=True)
