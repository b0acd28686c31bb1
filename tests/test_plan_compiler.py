"""The compiled inline plans (sigma_graphql/execution/plan_compiler.py) keep the readers' rules:
coercion skipped only for a value already of the scalar's own type, SLOW (graphql-core's path)
for nulls in non-null fields, refused values and anything raised. End to end against the real
schema: tests/test_fast_execution.py and tests/test_fast_equivalence.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLFloat, GraphQLInt, GraphQLString

from sigma_graphql.execution.plan_compiler import (
    SLOW,
    Child,
    Leaf,
    RowAccess,
    TypeName,
    compile_plan,
    compile_reader,
)


@dataclass
class Kota:
    nama: Any


@dataclass
class Toko:
    nama: Any
    jumlah: Any
    harga: Any
    kota: Any
    cabang: Any


def _plan() -> Any:
    kota = compile_plan([("nama", Leaf("nama", GraphQLString.coerce_output_value, "str", True))])
    return compile_plan(
        [
            ("__typename", TypeName("Toko")),
            ("nama", Leaf("nama", GraphQLString.coerce_output_value, "str", True)),
            ("n", Leaf("jumlah", GraphQLInt.coerce_output_value, "int", False)),
            ("harga", Leaf("harga", GraphQLFloat.coerce_output_value, "any", False)),
            ("kota", Child("kota", kota, non_null=False)),
            ("cabang", Child("cabang", kota, non_null=True, many=True, item_non_null=False)),
        ]
    )


def test_an_object_is_completed_in_one_call_with_aliases_and_nested_lists() -> None:
    plan = _plan()
    toko = Toko("Warung", 3, 2, Kota("Bandung"), [Kota("Bogor"), None])
    assert plan(toko, None) == {
        "__typename": "Toko",
        "nama": "Warung",
        "n": 3,
        "harga": 2.0,  # the Float coercion ran: an int became a float
        "kota": {"nama": "Bandung"},
        "cabang": [{"nama": "Bogor"}, None],
    }
    assert plan(Toko("Warung", None, None, None, []), None) == {
        "__typename": "Toko",
        "nama": "Warung",
        "n": None,
        "harga": None,
        "kota": None,
        "cabang": [],
    }


def test_whatever_needs_graphql_core_answers_slow() -> None:
    plan = _plan()
    ok = {"nama": "W", "jumlah": 1, "harga": 1.0, "kota": None, "cabang": []}
    assert plan(Toko(**ok), None) is not SLOW
    assert plan(Toko(**(ok | {"nama": None})), None) is SLOW  # null in a non-null field
    assert plan(Toko(**(ok | {"jumlah": 2**31})), None) is SLOW  # out of Int range: coercion raises
    assert plan(Toko(**(ok | {"jumlah": "banyak"})), None) is SLOW  # not an Int
    assert plan(Toko(**(ok | {"kota": Kota(None)})), None) is SLOW  # null deep inside
    assert plan(Toko(**(ok | {"cabang": None})), None) is SLOW  # null non-null list
    assert plan(Toko(**(ok | {"cabang": "Bogor"})), None) is SLOW  # not a list
    assert plan(object(), None) is SLOW  # missing attributes


def test_a_single_field_reader_and_the_same_text_compiled_once() -> None:
    read = compile_reader(Leaf("jumlah", GraphQLInt.coerce_output_value, "int", True))
    assert read(Toko("W", 7, None, None, []), None) == 7
    assert read(Toko("W", None, None, None, []), None) is SLOW
    one, two = _plan(), _plan()
    assert one is not two
    assert one.__code__ is two.__code__  # one compile for equal plans, new globals each
    assert "src.jumlah" in one.__sigma_source__


def test_a_whole_number_scalar_coerces_only_what_is_not_an_int() -> None:
    calls: list[Any] = []

    def rupiah(value: Any) -> int:
        calls.append(value)
        return int(value)

    plan = compile_plan([("omzet", Leaf("nama", rupiah, "whole", True))])
    big = 2**53 - 1  # beyond Int's 32 bits: still no call for a Rupiah
    assert plan(Kota(big), None) == {"omzet": big}
    assert calls == []
    assert plan(Kota(2.0), None) == {"omzet": 2}  # not an int: the scalar's own coercion
    assert calls == [2.0]


def test_the_served_schema_marks_rupiah_as_a_whole_number_scalar() -> None:
    from schema.build import build_schema
    from sigma_graphql.core.settings import load_settings
    from sigma_graphql.execution.fast_execution import _leaf

    schema = build_schema(load_settings())
    rupiah = schema._schema.type_map["Rupiah"]
    assert _leaf("omzet", rupiah, True, None).kind == "whole"  # type: ignore[arg-type]
    assert _leaf("bulan", schema._schema.type_map["Int"], True, None).kind == "int"  # type: ignore[arg-type]


def test_a_finite_float_needs_no_coercion_and_nan_goes_to_graphql_core() -> None:
    calls: list[Any] = []

    def coerce(value: Any) -> Any:
        calls.append(value)
        return GraphQLFloat.coerce_output_value(value)

    plan = compile_plan([("lat", Leaf("nama", coerce, "float", True))])
    assert plan(Kota(-7.98), None) == {"lat": -7.98}
    assert calls == []
    assert plan(Kota(3), None) == {"lat": 3.0}  # an int: the Float coercion makes it a float
    assert plan(Kota(float("nan")), None) is SLOW  # refused: graphql-core reports the error
    assert plan(Kota(float("inf")), None) is SLOW
    assert calls[0] == 3 and len(calls) == 3


class _Counted:
    """A descriptor that counts its reads (what RowField's __get__ would cost)."""

    reads = 0

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        _Counted.reads += 1
        return obj.row["nama"]


class RowToko:
    nama = _Counted()

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row


def _row_plan() -> Any:
    columns: dict[str, Any] = {
        "nama": "nama",  # the row's key
        "jumlah": ("int({row}[{key}])", "n"),  # an expression written into the plan
        "harga": lambda t: float(t.row.get("h", 0)),  # a read function
    }
    return compile_plan(
        [
            ("nama", Leaf("nama", GraphQLString.coerce_output_value, "str", True)),
            ("jumlah", Leaf("jumlah", GraphQLInt.coerce_output_value, "int", False)),
            ("harga", Leaf("harga", GraphQLFloat.coerce_output_value, "float", False)),
        ],
        RowAccess(RowToko, columns),
    )


def test_an_object_of_the_row_backed_class_is_read_from_its_row() -> None:
    plan = _row_plan()
    _Counted.reads = 0
    answer = plan(RowToko({"nama": "Warung", "n": "3"}), None)
    assert answer == {"nama": "Warung", "jumlah": 3, "harga": 0.0}
    assert _Counted.reads == 0  # the row key, not the descriptor
    assert "int(src.row[r1])" in plan.__sigma_source__
    # Another class of the same GraphQL type (an object built field by field) reads attributes.
    toko = Toko("Kios", 2, 1.5, None, [])
    assert plan(toko, None) == {"nama": "Kios", "jumlah": 2, "harga": 1.5}
    # A missing key or a failing read function is graphql-core's to report, as before.
    assert plan(RowToko({"n": "3"}), None) is SLOW
    assert plan(RowToko({"nama": "Warung", "n": "tiga"}), None) is SLOW
