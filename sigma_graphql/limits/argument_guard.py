"""Checks the arguments of an operation against sigma_graphql/core/input_limits.py before it runs.

It works in the validation step, after graphql-core's rules: a refused operation is a request
error like a validation error (BAD_USER_INPUT naming the argument), nothing executes, no
database is asked and no budget is charged. The arguments of mutation fields themselves are
left to the mutations' validators, which answer with userErrors (docs/architecture.md, Errors);
arguments of fields selected below a mutation are checked here like any other.

Where each argument sits is found once per document (one TypeInfo walk, linear in the
document's size: a fragment is visited once, as a definition, never expanded per spread) and
cached; each request then looks only at the values: literals and the variables' JSON values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    value_from_ast_untyped,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from sigma_graphql.core import errors
from sigma_graphql.core.i18n import t
from sigma_graphql.core.input_limits import (
    ARGUMENTS,
    DEFAULT_TEXT,
    INPUT_FIELDS,
    Ints,
    Limit,
    Problem,
    Text,
    int_problem,
    text_problem,
)

_CACHE_SIZE = 512
MAX_REPORTED = 10  # problems reported per request; more add nothing for the client


@dataclass(frozen=True)
class _Slot:
    """One argument (or input field) position whose value is checked."""

    label: str  # "filter.search": the name a client knows
    coordinate: str  # "Query.umkms": which field it belongs to
    limit: Limit | None
    type: GraphQLInputType
    node: Node
    literal: Any = None  # the value when it is written in the document
    variable: str | None = None  # or the variable it comes from


@dataclass
class _Plan:
    slots: list[_Slot] = field(default_factory=list)
    # Default values of variables, by operation: used when the request leaves one out.
    defaults: dict[str | None, dict[str, Any]] = field(default_factory=dict)


def _unwrapped(type_: GraphQLInputType) -> GraphQLInputType:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _is_text(named: GraphQLNamedType) -> bool:
    return named is GraphQLString or named is GraphQLID


class _Collector(Visitor):
    def __init__(self, schema: GraphQLSchema, type_info: TypeInfo, plan: _Plan) -> None:
        super().__init__()
        self.schema = schema
        self.type_info = type_info
        self.plan = plan
        self.fields: list[str] = []  # names of the fields being visited, innermost last

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        name = node.name.value if node.name else None
        self.plan.defaults[name] = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in node.variable_definitions or ()
            if d.default_value is not None
        }

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.fields.append(node.name.value)

    def leave_field(self, *_: Any) -> None:
        self.fields.pop()

    def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
        parent = self.type_info.get_parent_type()
        arg = self.type_info.get_argument()
        if arg is None or parent is None or not self.fields:
            return self.SKIP  # graphql-core's validation reports it
        if parent is self.schema.mutation_type:
            return self.SKIP  # the mutation's validator answers with userErrors
        name = node.name.value
        coordinate = f"{parent.name}.{self.fields[-1]}"
        self._value(node.value, arg.type, name, coordinate, ARGUMENTS.get(name))
        return self.SKIP  # the value was walked by _value

    def _value(
        self,
        node: ValueNode,
        type_: GraphQLInputType,
        label: str,
        coordinate: str,
        limit: Limit | None,
    ) -> None:
        type_ = _unwrapped(type_)
        named = get_named_type(type_)
        if isinstance(node, VariableNode):
            slot = _Slot(label, coordinate, limit, type_, node, variable=node.name.value)
            self.plan.slots.append(slot)
        elif isinstance(node, ObjectValueNode) and isinstance(named, GraphQLInputObjectType):
            for item in node.fields:
                field_def = named.fields.get(item.name.value)
                if field_def is not None:
                    key = f"{named.name}.{item.name.value}"
                    path = f"{label}.{item.name.value}"
                    self._value(item.value, field_def.type, path, coordinate, INPUT_FIELDS.get(key))
        elif isinstance(node, ListValueNode) and isinstance(type_, GraphQLList):
            for element in node.values:
                self._value(element, type_.of_type, label, coordinate, limit)
        elif limit is not None or _is_text(named):
            literal = value_from_ast_untyped(node)
            self.plan.slots.append(_Slot(label, coordinate, limit, type_, node, literal=literal))


def build_plan(schema: GraphQLSchema, document: DocumentNode) -> _Plan:
    plan = _Plan()
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _Collector(schema, type_info, plan)))
    return plan


def _raw_problems(
    value: Any, type_: GraphQLInputType, label: str, limit: Limit | None
) -> Iterator[tuple[str, Problem]]:
    """Problems of a variable's JSON value, following its input type (nested objects)."""
    type_ = _unwrapped(type_)
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        if isinstance(value, dict):
            for key, item in value.items():
                field_def = named.fields.get(key)
                if field_def is not None:
                    limit_of = INPUT_FIELDS.get(f"{named.name}.{key}")
                    yield from _raw_problems(item, field_def.type, f"{label}.{key}", limit_of)
        return
    if isinstance(type_, GraphQLList) and isinstance(value, list):
        for item in value:
            yield from _raw_problems(item, type_.of_type, label, limit)
        return
    # A value of the wrong type is left to graphql-core's coercion, which names the variable.
    if _is_text(named) and isinstance(value, str):
        problem = text_problem(value, limit if isinstance(limit, Text) else DEFAULT_TEXT)
    elif isinstance(limit, Ints) and isinstance(value, int) and not isinstance(value, bool):
        problem = int_problem(value, limit)
    else:
        return
    if problem is not None:
        yield label, problem


def check(
    plan: _Plan, variables: Mapping[str, Any], operation_name: str | None, lang: str
) -> list[GraphQLError]:
    defaults = plan.defaults.get(operation_name)
    if defaults is None and len(plan.defaults) == 1:
        defaults = next(iter(plan.defaults.values()))
    defaults = defaults or {}
    found: list[GraphQLError] = []
    for slot in plan.slots:
        if slot.variable is not None:
            if slot.variable in variables:
                value = variables[slot.variable]
            elif slot.variable in defaults:
                value = defaults[slot.variable]
            else:
                continue
        else:
            value = slot.literal
        for label, problem in _raw_problems(value, slot.type, slot.label, slot.limit):
            reason = t(problem.key, lang, **problem.params)
            found.append(
                errors.AppError(
                    t("argument_invalid", lang, argument=label, reason=reason),
                    errors.BAD_USER_INPUT,
                    nodes=slot.node,
                    argument=label,
                    field=slot.coordinate,
                )
            )
            if len(found) >= MAX_REPORTED:
                return found
    return found


class PlanCache:
    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._plans: OrderedDict[Any, _Plan] = OrderedDict()

    def plan(self, schema: GraphQLSchema, key: Any, document: DocumentNode) -> _Plan:
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found
        plan = build_plan(schema, document)
        self._plans[key] = plan
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)
        return plan


class ArgumentGuard(SchemaExtension):
    def __init__(self, cache: PlanCache) -> None:
        self.cache = cache

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if document is not None:
            found = ec.pre_execution_errors
            if found is None:  # not validated by ValidationCache yet: validate as Strawberry would
                found = validate_document(ec.schema._schema, document, ec.validation_rules)
                ec.pre_execution_errors = found
            if not found:
                plan = self.cache.plan(
                    ec.schema._schema, ec.query if ec.query is not None else id(document), document
                )
                lang = getattr(ec.context, "lang", "id")
                problems = check(plan, ec.variables or {}, ec.operation_name, lang)
                if problems:
                    ec.pre_execution_errors = problems
        yield


def argument_guard_factory() -> Any:
    """One plan cache per schema, a fresh extension per request."""
    cache = PlanCache()
    return lambda: ArgumentGuard(cache)
