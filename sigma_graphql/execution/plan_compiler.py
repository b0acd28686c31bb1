"""Compiles the inline plans of sigma_graphql/execution/fast_execution.py into Python functions.

A plan says, for one selection set on one object type, how to answer each selected field
without graphql-core: read an attribute, coerce a leaf, complete a nested object or a list of
them. Interpreting such a plan costs two or three Python calls per field (a reader closure, a
coercer, a dict write). Here a plan becomes the source text of one function per selection set,
in the spirit of graphql-jit, so a page of 100 UMKMs costs one call per object:

    def complete(src, run):
        try:
            v0 = src.id
            if v0 is None:
                return SLOW
            elif type(v0) is not str:
                v0 = c0(v0)
                ...
        except Exception:
            return SLOW
        return {'id': v0, ...}

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import isfinite
from types import CodeType
from typing import Any

from graphql import Undefined

SLOW: Any = object()  # "take graphql-core's normal path"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

Complete = Callable[[Any, Any], Any]  # (source, run): an object's completed dict, or SLOW
Reader = Callable[[Any, Any], Any]  # (source, run): one field's completed value, or SLOW


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar or enum attribute. `kind` names the value type that needs no coercion call
    (a built-in scalar's own type: "int", "str", "bool", "float" (finite); "whole": any int, for
    a scalar whose coercion returns an int unchanged), or "any" (always call `coerce`)."""

    attr: str
    coerce: Callable[[Any], Any]
    kind: str
    non_null: bool
    call: Any = None  # not None: the value is `run.call(call, src)` (a resolver), not the attr


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

_TYPE_CHECK = {
    "int": "type({v}) is not int or not " + f"{INT_MIN} <= {{v}} <= {INT_MAX}",
    "str": "type({v}) is not str",
    "bool": "type({v}) is not bool",
    "float": "type({v}) is not float or not isfinite({v})",
    "whole": "type({v}) is not int",
    "any": "True",
}


def complete_list(plan: Complete, items: Any, item_non_null: bool, run: Any) -> Any:
    """A list (or tuple) of objects completed by `plan`; SLOW for anything else, for a null
    item in a list of non-null items and for an item `plan` cannot complete."""
    if not isinstance(items, (list, tuple)):
        return SLOW
    out: list[Any] = []
    for item in items:
        if item is None:
            if item_non_null:
                return SLOW
            out.append(None)
            continue
        done = plan(item, run)
        if done is SLOW:
            return SLOW
        out.append(done)
    return out


def _emit(i: int, field: Field, lines: list[str], env: dict[str, Any]) -> None:
    """Statements that leave field i's completed value in v{i} (or return SLOW)."""
    v = f"v{i}"
    if isinstance(field, TypeName):
        env[f"n{i}"] = field.name
        lines.append(f"{v} = n{i}")
        return
    if field.call is not None:
        env[f"k{i}"] = field.call
        lines.append(f"{v} = run.call(k{i}, src)")
    elif field.attr.isidentifier() and not keyword.iskeyword(field.attr):
        lines.append(f"{v} = src.{field.attr}")
    else:
        env[f"a{i}"] = field.attr
        lines.append(f"{v} = getattr(src, a{i})")
    lines.append(f"if {v} is None:")
    lines.append("    return SLOW" if field.non_null else "    pass")
    if isinstance(field, Leaf):
        env[f"c{i}"] = field.coerce
        lines.append("elif " + _TYPE_CHECK[field.kind].format(v=v) + ":")
        lines.append(f"    {v} = c{i}({v})")
        lines.append(f"    if {v} is None or {v} is UNDEFINED:")
        lines.append("        return SLOW")
        return
    env[f"p{i}"] = field.plan
    lines.append("else:")
    if field.many:
        lines.append(f"    {v} = complete_list(p{i}, {v}, {field.item_non_null}, run)")
    else:
        lines.append(f"    {v} = p{i}({v}, run)")
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
    env.update(SLOW=SLOW, UNDEFINED=Undefined, complete_list=complete_list, isfinite=isfinite)
    exec(code, env)  # text built above from identifiers and reprs only
    made: Callable[[Any, Any], Any] = env["complete"]
    made.__sigma_source__ = source  # type: ignore[attr-defined]  # for debugging and tests
    return made


def _body(fields: Sequence[Field], env: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for i, field in enumerate(fields):
        _emit(i, field, lines, env)
    return (
        ["def complete(src, run):", "    try:"]
        + [f"        {line}" for line in lines]
        + [
            "    except Exception:",
            "        return SLOW",
        ]
    )


def compile_plan(named: Sequence[tuple[str, Field]]) -> Complete:
    """One function completing an object: its dict of response names, or SLOW."""
    env: dict[str, Any] = {}
    lines = _body([f for _, f in named], env)
    pairs = ", ".join(f"{name!r}: v{i}" for i, (name, _) in enumerate(named))
    lines.append(f"    return {{{pairs}}}")
    return _function("\n".join(lines) + "\n", env)


def compile_reader(field: Field) -> Reader:
    """One function answering a single field of an object: its value, or SLOW."""
    env: dict[str, Any] = {}
    lines = _body([field], env)
    lines.append("    return v0")
    return _function("\n".join(lines) + "\n", env)
