"""Cheaper field execution for plain attribute fields (bench/README.md; issue #7).

Most completed fields in a response are leaves read straight from a Python object: a
FinancialLog's `omzet`, a MonthlyStat's `bulan`. For each of them graphql-core builds a Path, a
resolve-info object and a node list, Strawberry adds three calls to reach `getattr`, and
`complete_value` walks the type wrappers, before the scalar is finally coerced. On the
official dashboard (about 1,500 leaves) that was most of the request's CPU.

Two measures, both behaviour-preserving:

- `streamline(schema)`: every Strawberry "basic" field (no resolver, no field extensions, i.e.
  no permission classes) gets a one-call resolver `getattr(source, python_name)`; a method
  resolver with only scalar arguments is called directly (no per-call argument conversion or
  extension chain, which do nothing for it); Strawberry enums coerce by a dictionary lookup
  instead of scanning their values. Subscription fields keep Strawberry's resolvers.
- `FastExecutor`: a selected field that is such an attribute, has no arguments and returns a
  scalar or enum (or `__typename`) is answered inline: read, coerce, done; so is an object whose
  selected fields are all such leaves, and a list of those objects (a page of logs, a year of
  monthly figures). Anything unusual (a null for a non-null field, a value the scalar refuses,
  a missing attribute, field middleware, @defer/@stream) goes through graphql-core's normal
  path, which then produces the usual error, path and null propagation. Decisions are made once
  per selected field per request.
"""

from __future__ import annotations

import enum
import functools
from asyncio import iscoroutine
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import DeferUsage, FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.execution.values import get_argument_values
from graphql.language.visitor import BREAK
from graphql.pyutils import Path
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField

from schema.types.row_backed import row_backed_subclass, row_columns
from sigma_graphql.core.field_metadata import INLINE
from sigma_graphql.execution.cycle_free import CycleFreeExecutor
from sigma_graphql.execution.plan_compiler import (
    SLOW,
    Child,
    Complete,
    Field,
    Leaf,
    Reader,
    RowAccess,
    TypeName,
    compile_plan,
    compile_reader,
    complete_list,
)

_ATTR = "_sigma_attr"  # marks the resolvers streamline() installs
# On the method resolvers an inline plan may call: bind(info, arguments) -> call(source).
_INLINE_CALL = "_sigma_inline_call"

# Strawberry field metadata `{INLINE: True}` (sigma_graphql/core/field_metadata.py) lets an
# inline plan call the field's resolver, so an object mixing attributes with such a field is still
# completed without graphql-core (issue 16: each UMKM of a staff list has `owner` and
# `financialLogs`). Only for a synchronous method whose answer depends on `self`, its arguments
# and `info.context` or the selection, never on `info.path` (the plan binds one resolve info per
# field and request, not one per object), and without side effects: a plan that cannot finish
# falls back to graphql-core, which calls the resolver again. A resolver may still return an
# awaitable (say, when nothing was prefetched): the plan then gives up on that object.


def attribute_resolver(python_name: str) -> Callable[..., Any]:
    """The resolver of a basic field: what Strawberry's would return, in one call."""

    def resolve(source: Any, _info: Any, **_args: Any) -> Any:
        return getattr(source, python_name)

    setattr(resolve, _ATTR, python_name)
    resolve._is_default = True  # type: ignore[attr-defined]  # Strawberry's own marker
    return resolve


def _enum_names(enum_type: GraphQLEnumType) -> list[tuple[enum.Enum, str]]:
    """The Python members of a Strawberry enum with their GraphQL names (empty for others)."""
    wrapped = getattr(enum_type, "wrapped_cls", None)
    if not (isinstance(wrapped, type) and issubclass(wrapped, enum.Enum)):
        return []
    return [
        (member, name)
        for name, value in enum_type.values.items()
        for member in wrapped
        if member.value == value.value
    ]


def _enum_coercer(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
    original = enum_type.coerce_output_value
    wrapped = getattr(enum_type, "wrapped_cls", None)
    # Keyed by the members' identity: members are singletons, and hashing an Enum member
    # calls Python-level __hash__.
    by_member = {id(member): name for member, name in _enum_names(enum_type)}

    def coerce(value: Any) -> Any:
        name = by_member.get(id(value)) if type(value) is wrapped else None
        return name if name is not None else original(value)

    return coerce


_SIMPLE_ARGUMENT_TYPES = (int, str, bool, float, strawberry.ID)


def _simple_argument(argument: StrawberryArgument) -> bool:
    """Arguments graphql-core already delivers as the Python value the resolver expects."""
    arg_type = argument.type
    if isinstance(arg_type, StrawberryOptional):
        arg_type = arg_type.of_type
    return arg_type in _SIMPLE_ARGUMENT_TYPES


def method_resolver(
    definition: StrawberryField, config: StrawberryConfig
) -> Callable[..., Any] | None:
    """For a resolver taking `self`, optionally `info`, and only scalar arguments: a direct
    call, without Strawberry's per-call argument conversion and extension chain (which do
    nothing for such a field). None when the field needs Strawberry's general path."""
    resolver = definition.base_resolver
    if (
        resolver is None
        or definition.extensions
        or resolver.self_parameter is None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or not all(_simple_argument(a) for a in definition.arguments)
    ):
        return None
    info_parameter = resolver.info_parameter
    info_name = info_parameter.name if info_parameter is not None else None
    info_class = config.info_class
    names = {config.name_converter.from_argument(a): a.python_name for a in definition.arguments}
    rename = {k: v for k, v in names.items() if k != v}
    # The function itself, not Strawberry's resolver object (one Python call fewer per field).
    func: Callable[..., Any] = (
        resolver.wrapped_func if callable(resolver.wrapped_func) else resolver
    )

    def arguments(info: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if rename:
            kwargs = {rename.get(k, k): v for k, v in kwargs.items()}
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=definition)
        return kwargs

    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        return func(source, **arguments(info, kwargs))

    if definition.metadata.get(INLINE) and not resolver.is_async:

        def bind(info: Any, kwargs: dict[str, Any]) -> Callable[[Any], Any]:
            # An inline plan's calls share the field's arguments and Info within one request
            # (INLINE: the answer never depends on info.path).
            # A partial (C) rather than a lambda: one Python frame fewer per object.
            return functools.partial(func, **arguments(info, dict(kwargs)))

        setattr(resolve, _INLINE_CALL, bind)
    return resolve


def streamline(schema: strawberry.Schema, whole_scalars: Iterable[str] = ()) -> None:
    """Installs the cheap resolvers and enum coercers on a schema built by Strawberry.

    `whole_scalars`: custom scalars whose output coercion returns a Python int unchanged (the
    inline plans then skip the call for an int, as they do for a built-in Int in range)."""
    gql_schema: GraphQLSchema = schema._schema
    subscription = gql_schema.subscription_type
    whole = set(whole_scalars)
    for named in gql_schema.type_map.values():
        if named.name.startswith("__") or named is subscription:
            continue
        if isinstance(named, GraphQLScalarType) and named.name in whole:
            named.extensions = {**(named.extensions or {}), _WHOLE: True}
        if isinstance(named, GraphQLEnumType) and hasattr(named, "wrapped_cls"):
            named.coerce_output_value = _enum_coercer(named)  # type: ignore[method-assign,assignment]
        if not isinstance(named, GraphQLObjectType):
            continue
        for gql_field in named.fields.values():
            definition = (gql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(definition, StrawberryField):
                continue
            if (
                definition.is_basic_field
                and definition.default_resolver is getattr
                and definition.python_name
            ):
                gql_field.resolve = attribute_resolver(definition.python_name)
            elif (direct := method_resolver(definition, schema.config)) is not None:
                gql_field.resolve = direct


# Kept per type (by identity): a document with directives is planned on every request.
@functools.lru_cache(maxsize=1024)
def row_access(object_type: GraphQLObjectType) -> RowAccess | None:
    """The row-backed class of a Strawberry object type (schema/types/row_backed.py), whose
    fields an inline plan may read from the row directly; None for other types."""
    definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    origin = getattr(definition, "origin", None)
    if not isinstance(origin, type):
        return None
    cls = row_backed_subclass(origin)
    return None if cls is None else RowAccess(cls, row_columns(cls))


_KIND: dict[Any, str] = {
    GraphQLInt: "int",
    GraphQLString: "str",
    GraphQLID: "str",
    GraphQLBoolean: "bool",
    GraphQLFloat: "float",
}


_WHOLE = "sigma_whole_int"  # GraphQLScalarType.extensions key set by streamline()


# An enum with at most this many members is matched member by member in the plan's code (an
# identity test each, no call); a larger one through its coercion's dictionary.
_ENUM_INLINE_MAX = 12


def _leaf(attr: str, leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool, call: Any) -> Leaf:
    """The leaf's output coercion, skipped for a value already of a built-in scalar's own type
    (an Int in range), an int of a whole-number scalar or a member of a small enum; everything
    else goes to the type's own coercion, which accepts or refuses it as before."""
    kind = _KIND.get(leaf) or ("whole" if (leaf.extensions or {}).get(_WHOLE) else "any")
    members = _enum_names(leaf) if isinstance(leaf, GraphQLEnumType) else []
    if len(members) > _ENUM_INLINE_MAX:
        members = []
    return Leaf(attr, leaf.coerce_output_value, kind, non_null, call, tuple(members))


@dataclass(frozen=True, eq=False)
class _Call:
    """A field an inline plan answers by calling its resolver (INLINE)."""

    parent_type: GraphQLObjectType
    field_details_list: FieldDetailsList
    field_def: GraphQLField


# Classes whose instances an INLINE resolver answered with and graphql-core found not
# awaitable (a User, a connection): later answers of these classes skip the check (awaiting
# depends on the class, `__await__`). Bounded: the schema's classes are a fixed set.
_PLAIN_ANSWERS: set[type] = set()
_PLAIN_ANSWERS_MAX = 256


class _NotInline(Exception):
    """An INLINE resolver answered with an awaitable: the plan gives up (SLOW)."""


_INCREMENTAL = frozenset(("defer", "stream"))


def _group_key(group: FieldDetailsList) -> tuple[int, ...]:
    return tuple(id(fd.node) for fd in group)


def _grouped_key(grouped: GroupedFieldSet) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple((name, _group_key(group)) for name, group in grouped.items())


class _OperationPlans:
    """The decisions for one operation of a parsed document, shared by every request sending
    that document. Only for documents without directives: then the fields graphql-core
    collects, and so every decision, depend on the document and the schema alone (no
    variables). Holds the operation so that the node ids in its keys stay unique."""

    __slots__ = ("fields", "operation", "plans", "readers")

    def __init__(self, operation: OperationDefinitionNode) -> None:
        self.operation = operation
        self.fields: dict[tuple[GraphQLObjectType, Any], Field | None] = {}
        self.readers: dict[tuple[GraphQLObjectType, Any], Reader | None] = {}
        self.plans: dict[tuple[GraphQLObjectType, Any], Complete | None] = {}


_OPERATIONS_MAX = 256  # like the parser cache (schema/build.py): a bounded set of documents
_ATTR_OPERATIONS = "_sigma_operation_plans"


class _HasDirective(Visitor):
    found = False

    def enter_directive(self, *_args: Any) -> Any:
        self.found = True
        return BREAK


def _operation_plans(
    schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: dict[str, Any]
) -> _OperationPlans | None:
    """The shared decisions of `operation` on `schema` (kept on the schema, bounded, oldest
    dropped first); None when the document has a directive."""
    cache: dict[int, _OperationPlans | None] | None = getattr(schema, _ATTR_OPERATIONS, None)
    if cache is None:
        cache = {}
        setattr(schema, _ATTR_OPERATIONS, cache)
    key = id(operation)
    if key in cache:
        entry = cache[key]
        if entry is None or entry.operation is operation:
            return entry
    probe = _HasDirective()
    visit(operation, probe)
    for details in fragments.values():
        if not probe.found:
            visit(details.definition, probe)
    if len(cache) >= _OPERATIONS_MAX:
        del cache[next(iter(cache))]
    found = None if probe.found else _OperationPlans(operation)
    # A None entry does not keep its operation alive: a later operation with the same id
    # is simply checked again.
    cache[key] = found
    return found


class FastExecutor(CycleFreeExecutor):
    """Strawberry's executor with inline completion of attribute leaves (module docstring).

    Three entry points of graphql-core's executor are short-cut, each falling back to it:
    a single leaf field (`execute_field`), an object whose selected fields are all such leaves
    (`execute_collected_subfields`) and a list of such objects (`complete_iterable_value`).
    Decisions are cached per request by the identity of graphql-core's memoized field groups,
    which are kept alive beside the cached decision; for a document without directives they
    are also kept per operation across requests (`_OperationPlans`), so a document sent again
    (parsed once by the parser cache) is planned once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fields: dict[tuple[GraphQLObjectType, int], tuple[Any, Field | None]] = {}
        self._readers: dict[tuple[GraphQLObjectType, int], tuple[Any, Reader | None]] = {}
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Complete | None]] = {}
        self._shared = _operation_plans(self.schema, self.operation, self.fragments)
        self._bound: dict[_Call, Callable[[Any], Any]] = {}

    # ---------------------------------------------------------------- resolvers in plans

    def call(self, spec: _Call, source: Any) -> Any:
        """An INLINE field's resolver on `source` (plan_compiler's `run.call`): its arguments
        and resolve info are bound once per request; an awaitable answer raises _NotInline,
        which the plan turns into SLOW."""
        bound = self._bound.get(spec)
        if bound is None:
            bound = self._bound[spec] = self._bind(spec)
        result = bound(source)
        if type(result) not in _PLAIN_ANSWERS:
            if self.is_awaitable(result):
                if iscoroutine(result):
                    result.close()  # never started: graphql-core's path calls it again
                raise _NotInline
            if len(_PLAIN_ANSWERS) < _PLAIN_ANSWERS_MAX:
                _PLAIN_ANSWERS.add(type(result))
        return result

    def _bind(self, spec: _Call) -> Callable[[Any], Any]:
        field_def, details = spec.field_def, spec.field_details_list
        first = details[0]
        name = first.node.name.value
        info = self.build_resolve_info(
            field_def, to_nodes(details), spec.parent_type, Path(None, name, spec.parent_type.name)
        )
        args = (
            get_argument_values(
                field_def,
                first.node,
                self.variable_values,
                first.fragment_variable_values,
                self.hide_suggestions,
            )
            if field_def.args or first.node.arguments
            else {}
        )
        bind: Callable[[Any, dict[str, Any]], Callable[[Any], Any]] = getattr(
            field_def.resolve, _INLINE_CALL
        )
        return bind(info, args)

    # ---------------------------------------------------------------- decisions

    @staticmethod
    def _memo(
        cache: dict[tuple[GraphQLObjectType, int], tuple[Any, Any]],
        parent_type: GraphQLObjectType,
        group: Any,
        build: Callable[[GraphQLObjectType, Any], Any],
        shared: dict[tuple[GraphQLObjectType, Any], Any] | None = None,
        node_key: Callable[[Any], Any] | None = None,
    ) -> Any:
        """build(parent_type, group), once per request; the group is kept alive beside it so
        its id cannot be reused while the entry exists. With `shared` (the operation's
        decisions across requests), keyed by the identity of the group's field nodes, which
        the cached document keeps alive."""
        key = (parent_type, id(group))
        found = cache.get(key)
        if found is None:
            if shared is not None and node_key is not None:
                skey = (parent_type, node_key(group))
                if skey in shared:
                    built = shared[skey]
                else:
                    built = shared[skey] = build(parent_type, group)
            else:
                built = build(parent_type, group)
            found = cache[key] = (group, built)
        return found[1]

    def _reader_for(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Reader | None:
        """The compiled reader of one field (execute_field's short cut)."""
        shared = self._shared.readers if self._shared is not None else None
        reader: Reader | None = self._memo(
            self._readers, parent_type, field_details_list, self._reader, shared, _group_key
        )
        return reader

    def _reader(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Reader | None:
        field = self._field_for(parent_type, field_details_list)
        return None if field is None else compile_reader(field, row_access(parent_type))

    def _field_for(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Field | None:
        shared = self._shared.fields if self._shared is not None else None
        field: Field | None = self._memo(
            self._fields, parent_type, field_details_list, self._field, shared, _group_key
        )
        return field

    def _field(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Field | None:
        """How to answer one selected field inline, or None when it needs graphql-core."""
        # Strawberry always passes a manager; it only matters when it holds middleware
        # (a schema extension implementing `resolve`, i.e. one that runs per field).
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        field_name = field_details_list[0].node.name.value
        if field_name == "__typename":
            return TypeName(parent_type.name)
        field_def = self.schema.get_field(parent_type, field_name)
        if field_def is None:
            return None
        attr = getattr(field_def.resolve, _ATTR, None)
        call = None
        if attr is None or field_def.args:
            if getattr(field_def.resolve, _INLINE_CALL, None) is None:
                return None
            attr, call = "", _Call(parent_type, field_details_list, field_def)
        field_type = field_def.type
        non_null = isinstance(field_type, GraphQLNonNull)
        leaf = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)):
            return _leaf(attr, leaf, non_null, call)
        if any(
            d.name.value in _INCREMENTAL
            for fd in field_details_list
            for d in fd.node.directives or ()
        ):
            return None
        if isinstance(leaf, GraphQLList):
            item_type = leaf.of_type
            item_non_null = isinstance(item_type, GraphQLNonNull)
            item = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
            plan = self._nested_plan(item, field_details_list)
            if plan is None:
                return None
            return Child(attr, plan, non_null, True, item_non_null, call)
        plan = self._nested_plan(leaf, field_details_list)
        return None if plan is None else Child(attr, plan, non_null, call=call)

    def _nested_plan(
        self, object_type: Any, field_details_list: FieldDetailsList
    ) -> Complete | None:
        """The plan of an attribute's object value when every selected field below it can be
        answered inline (recursively); None otherwise."""
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of is not None:
            return None
        grouped, new_defer_usages, forbidden = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages or forbidden:
            return None
        return self._plan_for(object_type, grouped)

    def _plan_for(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Complete | None:
        shared = self._shared.plans if self._shared is not None else None
        plan: Complete | None = self._memo(
            self._plans, parent_type, grouped_field_set, self._plan, shared, _grouped_key
        )
        return plan

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Complete | None:
        named: list[tuple[str, Field]] = []
        for response_name, field_details_list in grouped_field_set.items():
            field = self._field_for(parent_type, field_details_list)
            if field is None:
                return None
            named.append((response_name, field))
        return compile_plan(named, row_access(parent_type))

    # ---------------------------------------------------------------- short cuts

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        reader = self._reader_for(parent_type, field_details_list)
        if reader is not None:
            value = reader(source, self)
            if value is not SLOW:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def execute_collected_subfields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path,
        grouped_field_set: GroupedFieldSet,
        new_defer_usages: Sequence[DeferUsage],
        position_context: Any,
    ) -> Any:
        if not new_defer_usages and position_context is None:
            plan = self._plan_for(parent_type, grouped_field_set)
            if plan is not None:
                done = plan(source_value, self)
                if done is not SLOW:
                    return done
        return super().execute_collected_subfields(
            parent_type, source_value, path, grouped_field_set, new_defer_usages, position_context
        )

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        if (
            isinstance(items, (list, tuple))  # can be walked again by the fallback
            and position_context is None
            and self.get_stream_usage(field_details_list, path) is None
        ):
            non_null = isinstance(item_type, GraphQLNonNull)
            object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
            plan = self._nested_plan(object_type, field_details_list)
            if plan is not None:
                completed = complete_list(plan, items, non_null, self)
                if completed is not SLOW:
                    return completed
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )
