"""Depth, alias and size limits of a document, every fragment measured once.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every place it is
spread, so a 761-byte document whose fragments each spread the previous one twice cost 2**n
walks and froze the server for seconds before it was refused (issue 11, finding 1). Here each
fragment is summarised once per document (depth below it, aliases and fields it brings when
spread) and a spread adds its fragment's summary: the work is linear in the document's length
whatever the numbers come to.

Limits (QUERY_TOO_COMPLEX, checked by one validation rule, so ValidationCache keeps the verdict):
- depth: fields nested inside one another, as Strawberry counted it (a field with a selection
  is one level; introspection fields do not count);
- aliases: aliased fields, a fragment's counted at every spread (as Strawberry counted them);
- fields: field selections once every fragment is spread in place, at most `max_fields`.
  Written out inline each field costs at least one token, so with max_fields = the token limit
  fragments never let a document select more than it could have spelled out. Strawberry's
  `info.selected_fields` and our cost walk (sigma_graphql/limits/cost.py) see this expanded form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.language.visitor import BREAK, VisitorAction
from graphql.validation import ValidationRule

from sigma_graphql.core import errors


@dataclass(frozen=True, slots=True)
class Shape:
    """What a selection set brings where it is used (a fragment: wherever it is spread)."""

    depth: int
    aliases: int
    fields: int


_EMPTY = Shape(0, 0, 0)


class DocumentShapes:
    """Shapes of one document's operations; each fragment is walked once (memoised by name)."""

    def __init__(self, document: DocumentNode) -> None:
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._done: dict[str, Shape] = {}
        self._open: set[str] = set()

    def of_operation(self, operation: OperationDefinitionNode) -> Shape:
        return self.of_selection(operation.selection_set)

    def of_selection(self, selection_set: SelectionSetNode) -> Shape:
        depth = aliases = fields = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                fields += 1
                if sel.alias is not None:
                    aliases += 1
                if sel.selection_set is None:
                    continue
                below = self.of_selection(sel.selection_set)
                aliases += below.aliases
                fields += below.fields
                if not sel.name.value.startswith("__"):
                    depth = max(depth, 1 + below.depth)
                continue
            if isinstance(sel, InlineFragmentNode):
                below = self.of_selection(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                below = self.of_fragment(sel.name.value)
            else:  # pragma: no cover - graphql-core has no other selection kind
                continue
            depth = max(depth, below.depth)
            aliases += below.aliases
            fields += below.fields
        return Shape(depth, aliases, fields)

    def of_fragment(self, name: str) -> Shape:
        done = self._done.get(name)
        if done is not None:
            return done
        fragment = self._fragments.get(name)
        if fragment is None or name in self._open:
            # Unknown fragments and cycles are refused by graphql-core's own rules.
            return _EMPTY
        self._open.add(name)
        shape = self.of_selection(fragment.selection_set)
        self._open.discard(name)
        self._done[name] = shape
        return shape


def limit_rule(max_depth: int, max_aliases: int, max_fields: int) -> type[ValidationRule]:
    """One validation rule for the three limits (built once per schema: ValidationCache keys on
    the rule classes)."""

    class DocumentLimits(ValidationRule):
        # The walk runs inside graphql-core's visit (not in __init__ as Strawberry's limiters
        # did), so a document nesting too deep for the interpreter ends as graphql-core's
        # "Validation aborted." instead of an exception.
        def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
            shapes = DocumentShapes(node)
            aliases = fields = 0
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                shape = shapes.of_operation(definition)
                aliases += shape.aliases
                fields += shape.fields
                if shape.depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    self._refuse(f"'{name}' exceeds maximum operation depth of {max_depth}")
            if aliases > max_aliases:
                self._refuse(f"{aliases} aliases found. Allowed: {max_aliases}")
            if fields > max_fields:
                self._refuse(
                    f"{fields} fields selected once fragments are spread. Allowed: {max_fields}"
                )
            return BREAK

        def _refuse(self, message: str) -> None:
            # The code is stated here, not derived from the message later.
            self.context.report_error(errors.AppError(message, errors.QUERY_TOO_COMPLEX))

    return DocumentLimits
