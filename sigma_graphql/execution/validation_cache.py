"""Validation results kept per parsed document, found by the document's identity.

Strawberry's ValidationCache keys an `lru_cache` on (schema, document, rules): every lookup
hashes the whole document, node by node in Python (graphql-core's `Node.__hash__`), about 60
nodes and 190 Python calls for the catalogue query, on every request. The parser cache
(SafeParserCache, sigma_graphql/execution/extensions.py) already answers a query text sent
again with the very same DocumentNode, so here the key is the document's identity (and the
schema's, and the rule classes); the entry holds the document and the schema, so an id cannot
be reused while its entry exists. A document parsed anew (a text the parser cache dropped) is
validated anew, as before. Results are the same lists graphql-core's `validate` returned.

`quiet`: suggestions hidden (sigma_graphql/execution/suggestions.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from functools import cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation import ASTValidationRule
from strawberry.extensions import ValidationCache
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

Rules = tuple[type[ASTValidationRule], ...]
Validate = Callable[[GraphQLSchema, DocumentNode, Rules], list[GraphQLError]]


def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: Collection[type[ASTValidationRule]],
    hide_suggestions: bool = False,
) -> list[GraphQLError]:
    """graphql-core's validate with the two rules Strawberry appends to every rule list."""
    all_rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, all_rules, hide_suggestions=hide_suggestions)


class _ByIdentity:
    """A bounded map (least recently used out) from (schema, document, rules) identities to
    validation results; a lock because test servers run in threads of one process."""

    def __init__(self, maxsize: int, quiet: bool) -> None:
        self.maxsize = maxsize
        self.quiet = quiet
        self._entries: OrderedDict[tuple[int, int, Rules], tuple[Any, Any, list[GraphQLError]]]
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self, schema: GraphQLSchema, document: DocumentNode, rules: Rules
    ) -> list[GraphQLError]:
        key = (id(schema), id(document), rules)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is schema and entry[1] is document:
                self._entries.move_to_end(key)
                return entry[2]
        found = validate_document(schema, document, rules, hide_suggestions=self.quiet)
        with self._lock:
            self._entries[key] = (schema, document, found)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return found


@cache
def _shared(maxsize: int, quiet: bool) -> Validate:
    # One map per (size, quietness) for the process, like Strawberry's shared lru_cache: the
    # extension is made per request, its cache must outlive it.
    return _ByIdentity(maxsize, quiet)


class DocumentValidationCache(ValidationCache):
    """Strawberry's ValidationCache, looked up by the document's identity (module docstring)."""

    def __init__(self, maxsize: int = 512, *, quiet: bool = False) -> None:
        super().__init__(maxsize)
        self.cached_validate_document = _shared(maxsize, quiet)
