"""The served schema against ../shared/contract/schema.graphql (binding names and types)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)
from graphql.utilities import value_from_ast_untyped

from schema.build import export_sdl

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_CANDIDATES = [
    ROOT.parent / "shared" / "contract" / "schema.graphql",
    ROOT / "shared" / "contract" / "schema.graphql",
]


def _contract() -> GraphQLSchema:
    for path in CONTRACT_CANDIDATES:
        if path.exists():
            return build_schema(path.read_text(encoding="utf-8"))
    pytest.skip("contract file ../shared/contract/schema.graphql not found")
    raise AssertionError  # unreachable


def compare(contract: GraphQLSchema, served: GraphQLSchema) -> tuple[list[str], list[str]]:
    """(missing, different) elements of the contract in the served schema."""
    missing: list[str] = []
    different: list[str] = []
    for name, ctype in contract.type_map.items():
        if name.startswith("__"):
            continue
        stype = served.type_map.get(name)
        if stype is None:
            missing.append(f"type {name}")
            continue
        if type(stype) is not type(ctype):
            different.append(f"{name}: kind {type(stype).__name__} != {type(ctype).__name__}")
            continue
        if isinstance(ctype, GraphQLEnumType):
            for value in ctype.values:
                if value not in stype.values:  # type: ignore[union-attr, attr-defined]
                    missing.append(f"enum value {name}.{value}")
        if isinstance(ctype, (GraphQLObjectType, GraphQLInterfaceType)):
            for fname, cfield in ctype.fields.items():
                sfield = stype.fields.get(fname)  # type: ignore[union-attr, attr-defined]
                if sfield is None:
                    missing.append(f"field {name}.{fname}")
                    continue
                if str(sfield.type) != str(cfield.type):
                    different.append(f"{name}.{fname}: {sfield.type} != {cfield.type}")
                for aname, carg in cfield.args.items():
                    sarg = sfield.args.get(aname)
                    if sarg is None:
                        different.append(f"{name}.{fname}({aname}) missing argument")
                    elif str(sarg.type) != str(carg.type):
                        different.append(f"{name}.{fname}({aname}): {sarg.type} != {carg.type}")
                    elif carg.default_value is not None and _default(sarg) != _default(carg):
                        different.append(
                            f"{name}.{fname}({aname}) default "
                            f"{_default(sarg)!r} != {_default(carg)!r}"
                        )
                for aname, sarg in sfield.args.items():
                    if aname not in cfield.args and "!" in str(sarg.type):
                        different.append(f"{name}.{fname}({aname}) extra required argument")
        if isinstance(ctype, GraphQLInputObjectType):
            for fname, cfield in ctype.fields.items():
                sfield = stype.fields.get(fname)  # type: ignore[union-attr, attr-defined]
                if sfield is None:
                    missing.append(f"input field {name}.{fname}")
                elif str(sfield.type) != str(cfield.type):
                    different.append(f"{name}.{fname}: {sfield.type} != {cfield.type}")
            for fname, sfield in stype.fields.items():  # type: ignore[union-attr, attr-defined]
                if fname not in ctype.fields and "!" in str(sfield.type):
                    different.append(f"{name}.{fname} extra required input field")
    return missing, different


def _default(arg: object) -> object:
    value = getattr(arg, "default_value", None)
    if value is None and getattr(arg, "ast_node", None) is not None:
        node = arg.ast_node.default_value  # type: ignore[attr-defined]
        return value_from_ast_untyped(node) if node is not None else None
    return value


def test_served_schema_matches_contract() -> None:
    served = build_schema(export_sdl())
    missing, different = compare(_contract(), served)
    print("contract elements still missing:", missing or "none")
    assert not different, "\n".join(different)
    assert not missing, "\n".join(missing)


def test_compare_detects_differences() -> None:
    # The checker itself must catch type, nullability and argument changes.
    contract = build_schema("type Query { a(first: Int = 20): Int! b: String }")
    served = build_schema("type Query { a(first: Int!): Int c: String }")
    missing, different = compare(contract, served)
    assert missing == ["field Query.b"]
    assert any("Query.a: Int != Int!" in d for d in different)
    assert any("Query.a(first): Int! != Int" in d for d in different)


def test_exported_sdl_is_committed() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text(encoding="utf-8")
    assert committed == export_sdl(), "run `sigma-graphql export-schema` and commit the result"
