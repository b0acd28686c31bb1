"""Static query cost and the per-identity budget, enforced once per operation.

The cost is computed from the parsed document before anything executes:
- a leaf (scalar/enum) costs 0; an object field costs 1 plus its selection;
- a connection costs 1 plus its selection, where `edges`/`nodes` count `first` items
  (the argument, the variable's value, or the schema default: 20, 24 for financialLogs);
- any other list costs `first` items when it has that argument, else its LIST_SIZES entry or
  LIST_FACTOR items; each item costs 1 plus its selection, so nested lists multiply;
- a root mutation field costs MUTATION_COST plus its selection (writes touch both databases);
- a field whose own work is far above one object's (analytics that compute rather than read)
  adds its FIELD_COSTS entry once, wherever it appears, priced by measured CPU time;
- an operation may ask for an expensive root field (FIELD_COSTS >= EXPENSIVE) under at most
  MAX_REPEATS response keys (aliases): more is QUERY_TOO_COMPLEX whatever the budget, so one
  request cannot hold the process for the sum of many such fields.
Fragments count at every place they are spread (each fragment's cost computed once per
document); all branches of a type condition count.

CostLimiter (one SchemaExtension, no per-field hooks) refuses operations above
min(settings.max_cost, the audience's burst) with QUERY_TOO_COMPLEX, spends the cost from the
viewer's token bucket (sigma_graphql/limits/budget.py) or refuses with RATE_LIMITED and retryAfter,
and reports `extensions.cost = {requested, remaining}` on every response.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
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

from db.drivers import outages
from sigma_graphql.core import errors
from sigma_graphql.core.i18n import register, t
from sigma_graphql.core.pubsub import PubSub
from sigma_graphql.core.settings import Settings
from sigma_graphql.limits.budget import BudgetStore, Decision, SharedBudget
from sigma_graphql.observability import metrics, request_record

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
# A field's own work beyond the objects it returns, in points at about 10 points per millisecond
# of API-process CPU time (an `umkms(first: 20)` page: 41 points, 3 ms). Measured with
# `python -m bench.field_costs` on 2,000 synthetic UMKMs (48,000 logs); the table and how to
# re-measure are in bench/README.md. Fields not listed cost what their structure says.
FIELD_COSTS: dict[str, int] = {
    # Reads the year's logs of every VERIFIED UMKM and scores them: ~950 ms at 2,000 UMKMs,
    # growing linearly with their number (README, known limits).
    "Query.suspiciousFinancialLogs": 10_000,
    "Query.topGrowers": 200,  # ~24 ms: a quarter's totals of every UMKM, ranked
    "Query.heatmap": 100,  # ~17 ms: every VERIFIED location bucketed
    "Query.umkmsNear": 30,  # ~9 ms: geohash cells plus exact distances
    "Query.ownerDashboard": 80,  # ~10 ms: logs of all own UMKMs
    "Query.officialDashboard": 50,  # ~5 ms: counts, flags, last month's totals
    "Query.publicStats": 30,  # ~3 ms: counts and a year of sector aggregates
    "UMKM.forecast": 20,  # ~3 ms per UMKM: history read and the seasonal fit
    # A file of up to SIGMA_IMPORT_MAX_ROWS months: priced flat (the rows are unknown before
    # execution) at a few hundred rows' worth; the file limits bound the rest.
    "Mutation.importFinancialLogs": 5_000,
}
# Root fields priced at least EXPENSIVE (~10 ms each) appear under at most MAX_REPEATS response
# keys per operation (e.g. this year and last year side by side).
EXPENSIVE = 100
MAX_REPEATS = 2

register(
    {
        "query_too_complex": (
            "Kueri terlalu kompleks: biaya {cost} melebihi batas {max}",
            "Query too complex: cost {cost} exceeds the limit of {max}",
        ),
        "expensive_repeated": (
            "Kueri terlalu kompleks: {field} diminta {count} kali, paling banyak {max} kali "
            "per operasi",
            "Query too complex: {field} is requested {count} times, at most {max} per operation",
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
        self.memo: dict[tuple[str, str, int | None, bool], int] = {}
        self.open: set[tuple[str, str, int | None, bool]] = set()

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
        self,
        selection_set: SelectionSetNode | None,
        parent: _Composite,
        page: int | None = None,
        mutation: bool = False,
    ) -> int:
        """Cost of one object's selection; `page` is set inside a connection (its `first`),
        `mutation` for the root selection of a mutation."""
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self.field_cost(sel, parent, page, mutation)
            elif isinstance(sel, InlineFragmentNode):
                typed = self._type_named(
                    sel.type_condition.name.value if sel.type_condition else None
                )
                total += self.selection_cost(sel.selection_set, typed or parent, page, mutation)
            elif isinstance(sel, FragmentSpreadNode):
                total += self.fragment_cost(sel.name.value, parent, page, mutation)
        return total

    def fragment_cost(self, name: str, parent: _Composite, page: int | None, mutation: bool) -> int:
        """A fragment's cost where it is spread, computed once per (fragment, type, page): a
        document spreading fragments that spread each other costs a walk of its own length,
        not of its expansion (issue 11, the fragment bomb)."""
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0
        typed = self._type_named(fragment.type_condition.name.value) or parent
        key = (name, typed.name, page, mutation)
        done = self.memo.get(key)
        if done is not None:
            return done
        if key in self.open:  # a cycle; validation refuses such documents before any cost
            return 0
        self.open.add(key)
        cost = self.selection_cost(fragment.selection_set, typed, page, mutation)
        self.open.discard(key)
        self.memo[key] = cost
        return cost

    def field_cost(
        self, node: FieldNode, owner: _Composite, page: int | None, mutation: bool = False
    ) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0 if name == "__typename" else INTROSPECTION_COST
        if isinstance(owner, GraphQLUnionType):
            return 0
        return FIELD_COSTS.get(f"{owner.name}.{name}", 0) + self._shape_cost(
            node, owner, page, mutation
        )

    def _shape_cost(
        self,
        node: FieldNode,
        owner: GraphQLObjectType | GraphQLInterfaceType,
        page: int | None,
        mutation: bool,
    ) -> int:
        name = node.name.value
        field = owner.fields.get(name)
        if mutation:
            named_type = get_named_type(field.type) if field else None
            children = (
                self.selection_cost(node.selection_set, named_type)
                if isinstance(named_type, _Composite)
                else 0
            )
            return MUTATION_COST + children
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

    def expensive_repeats(
        self, selection_set: SelectionSetNode, root: GraphQLObjectType
    ) -> tuple[str, int] | None:
        """The expensive root field asked for under the most response keys, when above
        MAX_REPEATS. Keys, not occurrences: the executor merges fields of one response key, so
        a fragment spread twice runs its fields once (and each fragment is read once here)."""
        keys: dict[str, set[str]] = {}
        seen: set[str] = set()
        pending = [selection_set]
        while pending:
            for sel in pending.pop().selections:
                if isinstance(sel, FieldNode):
                    name = sel.name.value
                    if FIELD_COSTS.get(f"{root.name}.{name}", 0) >= EXPENSIVE:
                        response_key = sel.alias.value if sel.alias else name
                        keys.setdefault(name, set()).add(response_key)
                elif isinstance(sel, InlineFragmentNode):
                    pending.append(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                    seen.add(sel.name.value)
                    fragment = self.fragments.get(sel.name.value)
                    if fragment is not None:
                        pending.append(fragment.selection_set)
        worst = max(keys.items(), key=lambda kv: len(kv[1]), default=None)
        if worst is None or len(worst[1]) <= MAX_REPEATS:
            return None
        return worst[0], len(worst[1])


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((o for o in ops if o.name is not None and o.name.value == name), None)


Repeat = tuple[str, int]  # (root field, response keys asking for it)


def _analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
) -> tuple[int, frozenset[str], Repeat | None]:
    op = _operation(document, operation_name)
    if op is None:
        return 0, frozenset(), None
    walker = _Walker(schema, document, op, variables)
    root: GraphQLObjectType | None
    if op.operation is OperationType.MUTATION:
        root = schema.mutation_type
    elif op.operation is OperationType.SUBSCRIPTION:
        root = schema.subscription_type
    else:
        root = schema.query_type
    if root is None:
        return 0, frozenset(), None
    total = walker.selection_cost(
        op.selection_set, root, None, mutation=op.operation is OperationType.MUTATION
    )
    return total, frozenset(walker.used_vars), walker.expensive_repeats(op.selection_set, root)


def compute_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> tuple[int, frozenset[str]]:
    """(cost, names of the variables it depends on). 0 when the operation is not found."""
    cost, used, _ = _analyse(schema, document, operation_name, variables or {})
    return cost, used


def expensive_repeats(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None = None
) -> Repeat | None:
    """(field, response keys) when an expensive root field is asked for more than MAX_REPEATS
    times in the operation, else None."""
    return _analyse(schema, document, operation_name, {})[2]


class CostCache:
    """Costs per (document, operation, values of the variables that matter): the walk runs once
    per document shape, not once per request."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        # Per (document, operation): the variables its cost depends on, and its repeats
        # (which depend on no variable).
        self._deps: OrderedDict[tuple[Any, str | None], tuple[tuple[str, ...], Repeat | None]] = (
            OrderedDict()
        )
        self._costs: OrderedDict[tuple[Any, ...], int] = OrderedDict()

    def cost(
        self,
        schema: GraphQLSchema,
        key: Any,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        return self.assess(schema, key, document, operation_name, variables)[0]

    def assess(
        self,
        schema: GraphQLSchema,
        key: Any,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> tuple[int, Repeat | None]:
        """(cost, expensive root field over MAX_REPEATS or None)."""
        values = variables or {}
        known = self._deps.get((key, operation_name))
        if known is not None:
            deps, repeats = known
            full = (key, operation_name, *(repr(values.get(n)) for n in deps))
            found = self._costs.get(full)
            if found is not None:
                self._costs.move_to_end(full)
                return found, repeats
        cost, used, repeats = _analyse(schema, document, operation_name, values)
        names = tuple(sorted(used))
        self._remember(self._deps, (key, operation_name), (names, repeats))
        self._remember(
            self._costs, (key, operation_name, *(repr(values.get(n)) for n in names)), cost
        )
        return cost, repeats

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > self._size:
            cache.popitem(last=False)


def _identity(ctx: Any) -> tuple[str, str]:
    """(audience, identity): the user id, or the client address for PUBLIC."""
    viewer = getattr(ctx, "viewer", None)
    audience = str(getattr(getattr(viewer, "audience", None), "value", "PUBLIC"))
    key_id = getattr(viewer, "api_key_id", None)
    if key_id is not None:  # each API key has a budget of its own (audience API_KEY)
        return audience, f"key:{key_id}"
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
            except outages.MONGO_DOWN:  # circuit open: this process's buckets, as on a timeout
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
        cost, repeats = self.cache.assess(
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
        refusal: errors.AppError | None = None
        if repeats is not None:
            field, count = repeats
            refusal = errors.AppError(
                t("expensive_repeated", lang, field=field, count=count, max=MAX_REPEATS),
                errors.QUERY_TOO_COMPLEX,
                field=field,
                count=count,
                maxRepeats=MAX_REPEATS,
            )
        elif cost > limit:
            refusal = errors.AppError(
                t("query_too_complex", lang, cost=cost, max=limit),
                errors.QUERY_TOO_COMPLEX,
                cost=cost,
                maxCost=limit,
            )
        record = request_record.current()
        if record is not None:
            record.cost = cost
        if refusal is not None:
            metrics.BUDGET_REFUSALS.labels(audience, "too_complex").inc()
            self.report = {
                "requested": cost,
                "remaining": self.store.available(audience, identity),
            }
            ec.result = GraphQLExecutionResult(data=None, errors=[refusal])
            yield
            return
        decision = await self._spend(ctx, audience, identity, cost)
        self.report = {"requested": cost, "remaining": decision.remaining}
        metrics.labeled(metrics.OPERATION_COST, audience).observe(cost)
        if not decision.allowed:
            metrics.BUDGET_REFUSALS.labels(audience, "rate_limited").inc()
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


def cost_limiter_factory(settings: Settings, pubsub: PubSub | None = None) -> Any:
    """One budget store and cost cache per schema (per app), a fresh extension per request;
    shared budgets send and hear empty-bucket hints on pubsub (limits/budget.py)."""
    store: BudgetStore | SharedBudget = (
        SharedBudget(settings.budget_refill_per_s, settings.budget_burst)
        if settings.budget_shared
        else BudgetStore(settings.budget_refill_per_s, settings.budget_burst)
    )
    if isinstance(store, SharedBudget) and pubsub is not None:
        store.bind(pubsub)
    cache = CostCache()
    return lambda: CostLimiter(settings, store, cache)
