"""Compiles the inline plans of sigma_graphql/execution/fast_execution.py into Python functions.

A plan says, for one selection set on one object type, how to answer each selected field
without graphql-core: read an attribute, coerce a leaf, complete a nested object or a list of
them. Interpreting such a plan costs two or three Python calls per field (a reader closure, a
coercer, a dict write). Here a plan becomes the source text of one function per selection set,
in the spirit of graphql-jit, so a page of 100 UMKMs costs one call per object:

    def complete(src, run):
        try:
            if type(src) is ROW_CLASS:      # the type's row-backed class, when it has one
                v0 = str(src.row[r0])       # its field's expression, key or read function
                v1 = src.row[r1]
            else:
                v0 = src.id
                v1 = src.nama_usaha
            if v0 is None:
                return SLOW
            elif type(v0) is not str:
                v0 = c0(v0)
                ...
        except Exception:
            return SLOW
        return {'id': v0, 'namaUsaha': v1}

Every field is read first, then checked: reads have no side effects, so the order changes no
answer. An object of the type's row-backed class (schema/types/row_backed.py: RowLog of
FinancialLog, DocUMKM of UMKM, ...) is read from its row, as its RowField descriptors would,
without the descriptor call (`RowAccess`); any other object of the type by its attributes.

`run` is the request's executor: a field answered by a resolver (Leaf.call, Child.call: the
resolvers fast_execution.py lets run inline) is `run.call(spec, src)`, which binds the field's
arguments and resolve info once per request.

The semantics are the readers' (fast_execution.py): any null for a non-null field, a value the
coercion refuses or returns as null, a missing attribute, or anything raised makes the function
answer SLOW, and the caller then runs graphql-core's normal path for that subtree, which
produces the usual error, path and null propagation. Only attribute names that are Python
identifiers and the response names' `repr` appear in the text; values (coercers, nested plans,
type names) are passed in as globals, never formatted into it. The same text is compiled once
(`_CODE`), so a document planned per request (one with directives) does not pay for `compile`.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import inf
from types import CodeType
from typing import Any

from graphql import Undefined

from schema.types.row_backed import Column, Nested

SLOW: Any = object()  # "take graphql-core's normal path"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

Complete = Callable[[Any, Any], Any]  # (source, run): an object's completed dict, or SLOW
Reader = Callable[[Any, Any], Any]  # (source, run): one field's completed value, or SLOW


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar or enum attribute. `kind` names the value type that needs no coercion call
    (a built-in scalar's own type: "int", "str", "bool", "float" (finite); "whole": any int, for
    a scalar whose coercion returns an int unchanged), or "any" (always call `coerce`).
    `members`: an enum's (member, GraphQL name) pairs, matched by identity in the plan's code
    before `coerce` is called for anything else."""

    attr: str
    coerce: Callable[[Any], Any]
    kind: str
    non_null: bool
    call: Any = None  # not None: the value is `run.call(call, src)` (a resolver), not the attr
    members: tuple[tuple[Any, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Child:
    """An attribute holding an object (`many=False`) or a list of objects completed by `plan`."""

    attr: str
    plan: Complete
    non_null: bool
    many: bool = False
    item_non_null: bool = False
    call: Any = None  # as Leaf.call


@dataclass(frozen=True, slots=True)
class TypeName:
    name: str


Field = Leaf | Child | TypeName


@dataclass(frozen=True, slots=True)
class RowAccess:
    """A row-backed class (schema/types/row_backed.py) of the plan's type: `columns` maps an
    attribute to what its descriptor would do, without the descriptor's call: its row key (a
    str: `src.row[key]`), an (expression, key, table) triple written into the code (the
    expression's `{row}`, `{key}` and `{table}` filled in: row_backed.EXPRESSIONS, fixed texts,
    never data), a sub-row holding a nested row-backed object (`Nested`: read in place when
    the nested plan allows, `_flattened`), or the function reading it (`read(src)`)."""

    cls: type
    columns: Mapping[str, Column]


# A Child's plan's fields and row access (compile_plan keeps them on the function it makes).
Flat = tuple[tuple[tuple[str, Field], ...], RowAccess | None]


_TYPE_CHECK = {
    "int": "type({v}) is not int or not " + f"{INT_MIN} <= {{v}} <= {INT_MAX}",
    "str": "type({v}) is not str",
    "bool": "type({v}) is not bool",
    "float": "type({v}) is not float or not -INF < {v} < INF",  # NaN fails the comparison
    "whole": "type({v}) is not int",
    "any": "True",
}


def complete_list(plan: Complete, items: Any, item_non_null: bool, run: Any) -> Any:
    """A list (or tuple) of objects completed by `plan`; SLOW for anything else, for a null
    item in a list of non-null items and for an item `plan` cannot complete.

    One comprehension over the items (a plan answers a dict or SLOW, never None), then the
    two checks by `in`, which compares dicts with the sentinels without a Python call: no
    append per item. A plan that gives up on an item does not stop the others (plans have no
    side effects, and giving up is the rare path)."""
    if not isinstance(items, (list, tuple)):
        return SLOW
    out = [None if item is None else plan(item, run) for item in items]
    if SLOW in out or (item_non_null and None in out):
        return SLOW
    return out


def _flattened(field: Field, direct: Any) -> Flat | None:
    """The fields and row access of a Child that reads a sub-row (a RowField.nested column)
    when every field its plan selects is read from that sub-row by key or expression: the
    parent's code then completes it in place, without building the nested object or calling
    its plan. None otherwise."""
    if (
        not isinstance(field, Child)
        or field.call is not None
        or not isinstance(direct, Nested)
        or field.many != direct.many
    ):
        return None
    found: Flat | None = getattr(field.plan, "__sigma_fields__", None)
    if found is None:
        return None
    named, inner = found
    if inner is None or inner.cls is not direct.cls:
        return None
    for _, f in named:
        if isinstance(f, TypeName):
            continue
        if not isinstance(f, Leaf) or f.call is not None:
            return None
        if not isinstance(inner.columns.get(f.attr), (str, tuple)):
            return None
    return found


def _read(
    n: str,
    field: Field,
    env: dict[str, Any],
    rows: RowAccess | None,
    flat: Flat | None = None,
    row: str = "src.row",
) -> list[str]:
    """The statements that read field n's raw value into v{n} (`row`: where a row-backed
    object's columns are). A flattened field (`flat`) is completed here already."""
    v = f"v{n}"
    if isinstance(field, TypeName):
        env[f"n{n}"] = field.name
        return [f"{v} = n{n}"]
    if field.call is not None:
        env[f"k{n}"] = field.call
        return [f"{v} = run.call(k{n}, src)"]
    direct = rows.columns.get(field.attr) if rows is not None else None
    if isinstance(direct, str):
        env[f"r{n}"] = direct
        return [f"{v} = {row}[r{n}]"]
    if isinstance(direct, tuple):
        expression, key, table = direct
        env[f"r{n}"], env[f"t{n}"] = key, table
        return [f"{v} = " + expression.format(row=row, key=f"r{n}", table=f"t{n}")]
    if isinstance(direct, Nested) and flat is not None:
        return _read_sub_row(n, direct, flat, env, row)
    if isinstance(direct, Nested):
        direct = direct.read
    if direct is not None:
        env[f"r{n}"] = direct
        return [f"{v} = r{n}(src)"]
    if field.attr.isidentifier() and not keyword.iskeyword(field.attr):
        lines = [f"{v} = src.{field.attr}"]
    else:
        env[f"a{n}"] = field.attr
        lines = [f"{v} = getattr(src, a{n})"]
    if flat is not None:  # the object's own nested value: its plan completes it now
        env[f"p{n}"] = field.plan  # type: ignore[union-attr]  # a Child (_flattened)
        lines += [f"if {v} is not None:", f"    {v} = p{n}({v}, run)"]
    return lines


def _read_sub_row(n: str, nested: Nested, flat: Flat, env: dict[str, Any], row: str) -> list[str]:
    """A nested row-backed object's selected fields read from its sub-row, and their dict; for
    a list (`many`), a loop doing so for each of its rows (no Python call per item)."""
    v = f"v{n}"
    env[f"r{n}"] = nested.key
    if nested.optional:  # no sub-row (or an empty one): the field is null
        lines = [f"{v} = {row}.get(r{n}) or None"]
    else:  # the object is always built: let graphql-core's path report what it then raises
        lines = [f"{v} = {row}[r{n}]", f"if {v} is None:", "    return SLOW"]
    named, inner = flat
    if nested.many:  # a list comprehension over the rows: no call per item
        item = f"w{n}"
        pairs = ", ".join(
            f"{name!r}: " + _value(f"{n}_{j}", f, env, inner, item)
            for j, (name, f) in enumerate(named)
        )
        # Rows are never null items: a null row fails its reads, as its object's fields would.
        return [*lines, f"{v} = [{{{pairs}}} for {item} in {v}]"]
    body: list[str] = []
    for j, (_, f) in enumerate(named):
        body += _read(f"{n}_{j}", f, env, inner, row=v)
    for j, (_, f) in enumerate(named):
        _check(f"{n}_{j}", f, body, env)
    pairs = ", ".join(f"{name!r}: v{n}_{j}" for j, (name, _) in enumerate(named))
    body.append(f"{v} = {{{pairs}}}")
    return lines + [f"if {v} is not None:"] + [f"    {line}" for line in body]


def _value(n: str, field: Field, env: dict[str, Any], rows: RowAccess | None, row: str) -> str:
    """Field n of a row as one expression (for a comprehension): what _read and _check do in
    statements, a refused value raising _Refused (the plan then answers SLOW)."""
    (read,) = _read(n, field, env, rows, row=row)
    expression = read.removeprefix(f"v{n} = ")
    if isinstance(field, TypeName) or not isinstance(field, Leaf):
        return expression
    v = f"v{n}"
    env[f"c{n}"] = field.coerce
    null = f"COERCED(c{n}, None)" if field.non_null else "None"
    parts = [f"({null} if ({v} := {expression}) is None"]
    for j, (member, name) in enumerate(field.members):
        env[f"e{n}_{j}"] = member
        parts.append(f"{name!r} if {v} is e{n}_{j}")
    parts.append(f"COERCED(c{n}, {v}) if " + _TYPE_CHECK[field.kind].format(v=v))
    return " else ".join(parts) + f" else {v})"


class _Refused(Exception):
    """Raised inside a plan's expression for a value its field cannot answer."""


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    """`coerce(value)`, or _Refused for a null, a refused value or a null answer."""
    if value is None:
        raise _Refused
    answer = coerce(value)
    if answer is None or answer is Undefined:
        raise _Refused
    return answer


def _check(
    n: str, field: Field, lines: list[str], env: dict[str, Any], completed: bool = False
) -> None:
    """Statements that turn v{n} into field n's completed value (or return SLOW); `completed`:
    a flattened field, completed where it was read."""
    v = f"v{n}"
    if isinstance(field, TypeName):
        return
    lines.append(f"if {v} is None:")
    lines.append("    return SLOW" if field.non_null else "    pass")
    if isinstance(field, Leaf):
        env[f"c{n}"] = field.coerce
        for j, (member, name) in enumerate(field.members):
            env[f"e{n}_{j}"] = member
            lines.append(f"elif {v} is e{n}_{j}:")
            lines.append(f"    {v} = {name!r}")
        lines.append("elif " + _TYPE_CHECK[field.kind].format(v=v) + ":")
        lines.append(f"    {v} = c{n}({v})")
        lines.append(f"    if {v} is None or {v} is UNDEFINED:")
        lines.append("        return SLOW")
        return
    if completed:
        lines.append(f"elif {v} is SLOW:")
        lines.append("    return SLOW")
        return
    env[f"p{n}"] = field.plan
    lines.append("else:")
    if field.many:
        lines.append(f"    {v} = complete_list(p{n}, {v}, {field.item_non_null}, run)")
    else:
        lines.append(f"    {v} = p{n}({v}, run)")
    lines.append(f"    if {v} is SLOW:")
    lines.append("        return SLOW")


_CODE: dict[str, CodeType] = {}
_CODE_MAX = 1024


def _function(source: str, env: dict[str, Any]) -> Callable[[Any, Any], Any]:
    code = _CODE.get(source)
    if code is None:
        if len(_CODE) >= _CODE_MAX:
            del _CODE[next(iter(_CODE))]
        code = _CODE[source] = compile(source, "<sigma inline plan>", "exec")
    env.update(
        SLOW=SLOW, UNDEFINED=Undefined, complete_list=complete_list, INF=inf, COERCED=_coerced
    )
    exec(code, env)  # text built above from identifiers and reprs only
    made: Callable[[Any, Any], Any] = env["complete"]
    made.__sigma_source__ = source  # type: ignore[attr-defined]  # for debugging and tests
    return made


def _body(fields: Sequence[Field], env: dict[str, Any], rows: RowAccess | None) -> list[str]:
    """Every field read first, then checked: reads have no side effects, so the order does
    not change an answer, and an object of the row-backed class reads its row directly."""
    columns = rows.columns if rows is not None else {}
    flat = [None if isinstance(f, TypeName) else _flattened(f, columns.get(f.attr)) for f in fields]
    reads = [line for i, f in enumerate(fields) for line in _read(str(i), f, env, None, flat[i])]
    direct = (
        [line for i, f in enumerate(fields) for line in _read(str(i), f, env, rows, flat[i])]
        if rows is not None
        else []
    )
    lines: list[str] = []
    if direct and direct != reads:
        env["ROW_CLASS"] = rows.cls if rows is not None else None
        lines.append("if type(src) is ROW_CLASS:")
        lines.extend(f"    {line}" for line in direct)
        lines.append("else:")
        lines.extend(f"    {line}" for line in reads)
    else:
        lines.extend(reads)
    for i, field in enumerate(fields):
        _check(str(i), field, lines, env, completed=flat[i] is not None)
    return (
        ["def complete(src, run):", "    try:"]
        + [f"        {line}" for line in lines]
        + [
            "    except Exception:",
            "        return SLOW",
        ]
    )


def compile_plan(named: Sequence[tuple[str, Field]], rows: RowAccess | None = None) -> Complete:
    """One function completing an object: its dict of response names, or SLOW. With `rows`,
    an object of exactly `rows.cls` has its row-backed fields read from its row."""
    env: dict[str, Any] = {}
    lines = _body([f for _, f in named], env, rows)
    pairs = ", ".join(f"{name!r}: v{i}" for i, (name, _) in enumerate(named))
    lines.append(f"    return {{{pairs}}}")
    made = _function("\n".join(lines) + "\n", env)
    made.__sigma_fields__ = (tuple(named), rows)  # type: ignore[attr-defined]  # _flattened
    return made


def compile_reader(field: Field, rows: RowAccess | None = None) -> Reader:
    """One function answering a single field of an object: its value, or SLOW."""
    env: dict[str, Any] = {}
    lines = _body([field], env, rows)
    lines.append("    return v0")
    return _function("\n".join(lines) + "\n", env)
