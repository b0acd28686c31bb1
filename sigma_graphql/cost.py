"""Static query cost and the per-identity budget, enforced once per operation.

The cost is computed from the parsed document before anything executes:
- a leaf (scalar/enum) costs 0; an object field costs 1 plus its selection;
- a connection costs 1 plus its selection, where `edges`/`nodes` count `first` items
  (the argument, the variable's value, or the schema default: 20, 24 for financialLogs);
- any other list costs `first` items when it has that argument, else its LIST_SIZES entry or
  LIST_FACTOR items; each item costs 1 plus its selection, so nested lists multiply;
- a root mutation field costs MUTATION_COST plus its selection (writes touch both databases).
Fragments count at every place they are spread; all branches of a type condition count.

CostLimiter (one SchemaExtension, no per-field hooks) refuses operations above
min(settings.max_cost, the audience's burst) with QUERY_TOO_COMPLEX, spends the cost from the
viewer's token bucket (sigma_graphql/budget.py) or refuses with RATE_LIMITED and retryAfter, and
reports `extensions.cost = {requested, remaining}` on every response.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperationType

from sigma_graphql import errors
from sigma_graphql.budget import BudgetStore, Decision, SharedBudget
from sigma_graphql.i18n import register, t
from sigma_graphql.settings import Settings

DEFAULT_FIRST = 20
LIST_FACTOR = 10
MUTATION_COST = 10
# Introspection is schema-sized, independent of data; charge a flat amount.
INTROSPECTION_COST = 50
_CACHE_SIZE = 1024
# Lists without `first` whose usual size is far from LIST_FACTOR: one entry per kota or map
# cell (hundreds), or per month.
LIST_SIZES: dict[str, int] = {
    "Query.regionStats": 100,
    "Query.heatmap": 100,
    "Query.cityClusters": 100,
    "SectorStats.months": 12,
    "RegionStats.months": 12,
    "RevenueTrend.byMonth": 24,
    "RevenueTrend.byKota": 100,
}

register(
    {
        "query_too_complex": (
            "Kueri terlalu kompleks: biaya {cost} melebihi batas {max}",
            "Query too complex: cost {cost} exceeds the limit of {max}",
        ),
        "rate_limited": (
            "Terlalu banyak permintaan; coba lagi dalam {seconds} detik",
            "Too many requests; retry in {seconds} seconds",
        ),
    }
)

_Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.var_defaults: dict[str, Any] = {}
        for vd in operation.variable_definitions or ():
            if isinstance(vd.default_value, IntValueNode):
                self.var_defaults[vd.variable.name.value] = int(vd.default_value.value)
        # Variables that decided a `first`: the cache key of this document's cost.
        self.used_vars: set[str] = set()

    def fields(
        self, selection_set: SelectionSetNode, parent: _Composite, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, _Composite]]:
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                yield sel, parent
            elif isinstance(sel, InlineFragmentNode):
                typed = self._type_named(
                    sel.type_condition.name.value if sel.type_condition else None
                )
                yield from self.fields(sel.selection_set, typed or parent, seen)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = self.fragments.get(name)
                if frag is None or name in seen:
                    continue
                typed = self._type_named(frag.type_condition.name.value)
                yield from self.fields(frag.selection_set, typed or parent, seen | {name})

    def _type_named(self, name: str | None) -> _Composite | None:
        found = self.schema.get_type(name) if name else None
        return found if isinstance(found, _Composite) else None

    def first_of(self, node: FieldNode, field: GraphQLField) -> int:
        arg = field.args.get("first")
        default = arg.default_value if arg is not None else None
        value: Any = default if isinstance(default, int) else DEFAULT_FIRST
        for given in node.arguments or ():
            if given.name.value != "first":
                continue
            if isinstance(given.value, IntValueNode):
                value = int(given.value.value)
            elif isinstance(given.value, VariableNode):
                var = given.value.name.value
                self.used_vars.add(var)
                provided = self.variables.get(var, self.var_defaults.get(var))
                if isinstance(provided, int) and not isinstance(provided, bool):
                    value = provided
        return max(1, int(value))

    def selection_cost(
        self, selection_set: SelectionSetNode | None, parent: _Composite, page: int | None = None
    ) -> int:
        """Cost of one object's selection; `page` is set inside a connection (its `first`)."""
        if selection_set is None:
            return 0
        total = 0
        for node, owner in self.fields(selection_set, parent, frozenset()):
            total += self.field_cost(node, owner, page)
        return total

    def field_cost(self, node: FieldNode, owner: _Composite, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0 if name == "__typename" else INTROSPECTION_COST
        if isinstance(owner, GraphQLUnionType):
            return 0
        field = owner.fields.get(name)
        if field is None:
            return 0
        ftype = field.type
        if isinstance(ftype, GraphQLNonNull):
            ftype = ftype.of_type
        named = get_named_type(ftype)
        if not isinstance(named, _Composite):
            return 0
        if named.name.endswith("Connection"):
            return 1 + self.selection_cost(node.selection_set, named, self.first_of(node, field))
        if isinstance(ftype, GraphQLList):
            if page is not None and name in ("edges", "nodes"):
                items = page
            elif "first" in field.args:
                items = self.first_of(node, field)
            else:
                items = LIST_SIZES.get(f"{owner.name}.{name}", LIST_FACTOR)
            return items * (1 + self.selection_cost(node.selection_set, named))
        return 1 + self.selection_cost(node.selection_set, named)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((o for o in ops if o.name is not None and o.name.value == name), None)


def compute_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> tuple[int, frozenset[str]]:
    """(cost, names of the variables it depends on). 0 when the operation is not found."""
    op = _operation(document, operation_name)
    if op is None:
        return 0, frozenset()
    walker = _Walker(schema, document, op, variables or {})
    root: GraphQLObjectType | None
    if op.operation is OperationType.MUTATION:
        root = schema.mutation_type
    elif op.operation is OperationType.SUBSCRIPTION:
        root = schema.subscription_type
    else:
        root = schema.query_type
    if root is None:
        return 0, frozenset()
    total = 0
    for node, owner in walker.fields(op.selection_set, root, frozenset()):
        if op.operation is OperationType.MUTATION and not node.name.value.startswith("__"):
            field = root.fields.get(node.name.value)
            named = get_named_type(field.type) if field else None
            children = (
                walker.selection_cost(node.selection_set, named)
                if isinstance(named, _Composite)
                else 0
            )
            total += MUTATION_COST + children
        else:
            total += walker.field_cost(node, owner, None)
    return total, frozenset(walker.used_vars)


class CostCache:
    """Costs per (document, operation, values of the variables that matter): the walk runs once
    per document shape, not once per request."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._deps: OrderedDict[tuple[Any, str | None], tuple[str, ...]] = OrderedDict()
        self._costs: OrderedDict[tuple[Any, ...], int] = OrderedDict()

    def cost(
        self,
        schema: GraphQLSchema,
        key: Any,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        values = variables or {}
        deps = self._deps.get((key, operation_name))
        if deps is not None:
            full = (key, operation_name, *(repr(values.get(n)) for n in deps))
            found = self._costs.get(full)
            if found is not None:
                self._costs.move_to_end(full)
                return found
        cost, used = compute_cost(schema, document, operation_name, values)
        names = tuple(sorted(used))
        self._remember(self._deps, (key, operation_name), names)
        self._remember(
            self._costs, (key, operation_name, *(repr(values.get(n)) for n in names)), cost
        )
        return cost

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > self._size:
            cache.popitem(last=False)


def _identity(ctx: Any) -> tuple[str, str]:
    """(audience, identity): the user id, or the client address for PUBLIC."""
    viewer = getattr(ctx, "viewer", None)
    audience = str(getattr(getattr(viewer, "audience", None), "value", "PUBLIC"))
    user_id = getattr(viewer, "user_id", None)
    if user_id is not None:
        return audience, f"user:{user_id}"
    return audience, f"addr:{getattr(ctx, 'client_address', None) or '-'}"


class CostLimiter(SchemaExtension):
    def __init__(
        self, settings: Settings, store: BudgetStore | SharedBudget, cache: CostCache
    ) -> None:
        self.settings = settings
        self.store = store
        self.cache = cache
        self.report: dict[str, int] | None = None

    async def _spend(self, ctx: Any, audience: str, identity: str, cost: int) -> Decision:
        if isinstance(self.store, SharedBudget):
            try:
                mongo = ctx.mongo
            except errors.MONGO_DOWN:  # circuit open: this process's buckets, as on a timeout
                return self.store.local.spend(audience, identity, cost)
            return await self.store.spend(mongo, audience, identity, cost)
        return self.store.spend(audience, identity, cost)

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if document is None or ec.operation_type is StrawberryOperationType.SUBSCRIPTION:
            # Subscriptions are long-lived and charged nothing per event.
            yield
            return
        cost = self.cache.cost(
            ec.schema._schema,
            ec.query if ec.query is not None else id(document),
            document,
            ec.operation_name,
            ec.variables,
        )
        ctx = ec.context
        lang = getattr(ctx, "lang", "id")
        audience, identity = _identity(ctx)
        limit = min(self.settings.max_cost, self.store.burst_of(audience))
        if cost > limit:
            self.report = {
                "requested": cost,
                "remaining": self.store.available(audience, identity),
            }
            ec.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    errors.AppError(
                        t("query_too_complex", lang, cost=cost, max=limit),
                        errors.QUERY_TOO_COMPLEX,
                        cost=cost,
                        maxCost=limit,
                    )
                ],
            )
            yield
            return
        decision = await self._spend(ctx, audience, identity, cost)
        self.report = {"requested": cost, "remaining": decision.remaining}
        if not decision.allowed:
            response = getattr(ctx, "response", None)
            if response is not None:  # HTTP clients and proxies understand the header too
                response.headers["Retry-After"] = str(decision.retry_after)
            ec.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    errors.AppError(
                        t("rate_limited", lang, seconds=decision.retry_after),
                        errors.RATE_LIMITED,
                        retryAfter=decision.retry_after,
                        cost=cost,
                    )
                ],
            )
        yield

    def get_results(self) -> dict[str, Any]:
        if self.report is None:
            # Refused before execution (parse/validation error): nothing was spent.
            audience, identity = _identity(self.execution_context.context)
            self.report = {"requested": 0, "remaining": self.store.available(audience, identity)}
        return {"cost": self.report}


def cost_limiter_factory(settings: Settings) -> Any:
    """One budget store and cost cache per schema (per app), a fresh extension per request."""
    store: BudgetStore | SharedBudget = (
        SharedBudget(settings.budget_refill_per_s, settings.budget_burst)
        if settings.budget_shared
        else BudgetStore(settings.budget_refill_per_s, settings.budget_burst)
    )
    cache = CostCache()
    return lambda: CostLimiter(settings, store, cache)
