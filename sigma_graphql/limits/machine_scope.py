"""API keys may run only the operations MACHINE_OPERATIONS names (sigma_graphql/permissions.py).

Root fields open to everyone carry no guard (sigma_graphql/permissions.py `allow`: the fast
path), so a key could otherwise read `umkms` or call `login`. This validation-step check looks
at the root fields the operation selects (through fragments) and refuses the whole operation
with FORBIDDEN when one of them is not a machine operation: nothing executes, no budget is
charged. `__typename` is allowed; introspection is not.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from sigma_graphql.core import errors
from sigma_graphql.core.i18n import register, t
from sigma_graphql.permissions import MACHINE_OPERATIONS

register(
    {
        "api_key_scope": (
            "Kunci API hanya dapat dipakai untuk {allowed}",
            "An API key may only be used for {allowed}",
        ),
    }
)

_ROOT = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((o for o in ops if o.name is not None and o.name.value == name), None)


def root_fields(document: DocumentNode, operation_name: str | None) -> set[str] | None:
    """ "Mutation.submitFinancialLog"-style names of the operation's root fields (None: the
    operation cannot be told, which validation or execution reports)."""
    op = _operation(document, operation_name)
    if op is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = _ROOT[op.operation.value]
    found: set[str] = set()
    seen: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> Iterator[str]:
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                yield sel.name.value
            elif isinstance(sel, InlineFragmentNode):
                yield from walk(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                seen.add(sel.name.value)
                fragment = fragments.get(sel.name.value)
                if fragment is not None:
                    yield from walk(fragment.selection_set)

    for name in walk(op.selection_set):
        if name != "__typename":
            found.add(f"{root}.{name}")
    return found


class MachineScope(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        # Before the yield: Strawberry reads pre_execution_errors inside the validation step.
        self._check()
        yield

    def _check(self) -> None:
        ec = self.execution_context
        viewer = getattr(ec.context, "viewer", None)
        if viewer is None or not getattr(viewer, "is_api_key", False) or ec.pre_execution_errors:
            return
        document = ec.graphql_document
        if document is None:
            return
        fields = root_fields(document, ec.operation_name)
        if fields is not None and fields <= MACHINE_OPERATIONS:
            return
        allowed = ", ".join(sorted(op.split(".")[1] for op in MACHINE_OPERATIONS))
        ec.pre_execution_errors = [
            errors.AppError(
                t("api_key_scope", getattr(ec.context, "lang", "id"), allowed=allowed),
                errors.FORBIDDEN,
            )
        ]
