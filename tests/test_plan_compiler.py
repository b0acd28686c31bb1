"""The compiled inline plans (sigma_graphql/execution/plan_compiler.py) keep the readers' rules:
coercion skipped only for a value already of the scalar's own type, SLOW (graphql-core's path)
for nulls in non-null fields, refused values and anything raised. End to end against the real
schema: tests/test_fast_execution.py and tests/test_fast_equivalence.py."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLFloat, GraphQLInt, GraphQLString

from schema.types.row_backed import RowField, row_columns
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


def test_an_enum_member_is_named_without_a_call_and_anything_else_is_coerced() -> None:
    class Status(enum.Enum):
        OPEN = "open"
        SHUT = "shut"

    calls: list[Any] = []

    def coerce(value: Any) -> Any:
        calls.append(value)
        return "OPEN" if value == "open" else None  # refuses everything else

    members = ((Status.OPEN, "OPEN"), (Status.SHUT, "SHUT"))
    plan = compile_plan([("s", Leaf("nama", coerce, "any", True, members=members))])
    assert plan(Kota(Status.SHUT), None) == {"s": "SHUT"}
    assert plan(Kota(Status.OPEN), None) == {"s": "OPEN"}
    assert calls == []
    assert plan(Kota("open"), None) == {"s": "OPEN"}  # not a member: the enum's coercion
    assert plan(Kota("ajar"), None) is SLOW  # refused: graphql-core reports it
    assert calls == ["open", "ajar"]


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
        "jumlah": ("int({row}[{key}])", "n", None),  # an expression written into the plan
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


class RowKota:
    """A nested row-backed object (RowField.nested_row) that counts how often it is built."""

    __slots__ = ("row",)
    built = 0

    nama = RowField[str]("nama")
    julukan = RowField(read=lambda k: k.row.get("julukan") or "-")  # a read function

    def __init__(self, row: dict[str, Any], _parent: Any) -> None:
        RowKota.built += 1
        self.row = row


class RowPasar:
    __slots__ = ("row",)

    nama = RowField[str]("nama")
    kota = RowField.nested_row(RowKota, "kota")
    cabang = RowField.nested_row(RowKota, "cabang", optional=True)

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row


def _pasar_plan(*kota_fields: str) -> Any:
    text = GraphQLString.coerce_output_value
    kota = compile_plan(
        [(f, Leaf(f, text, "str", True)) for f in kota_fields],
        RowAccess(RowKota, row_columns(RowKota)),
    )
    return compile_plan(
        [
            ("nama", Leaf("nama", text, "str", True)),
            ("kota", Child("kota", kota, True)),
            ("cabang", Child("cabang", kota, False)),
        ],
        RowAccess(RowPasar, row_columns(RowPasar)),
    )


def test_a_nested_row_object_is_answered_from_its_sub_row_without_being_built() -> None:
    plan = _pasar_plan("nama")
    RowKota.built = 0
    row = {"nama": "Pasar Besar", "kota": {"nama": "Malang"}, "cabang": {}}
    assert plan(RowPasar(row), None) == {
        "nama": "Pasar Besar",
        "kota": {"nama": "Malang"},
        "cabang": None,  # an empty sub-row: the optional field is null, as its descriptor says
    }
    branch = {**row, "cabang": {"nama": "Batu"}}
    assert plan(RowPasar(branch), None)["cabang"] == {"nama": "Batu"}
    assert RowKota.built == 0
    # What graphql-core's path would report goes there: no sub-row for a required object,
    # a missing non-null column.
    assert plan(RowPasar({**row, "kota": None}), None) is SLOW
    assert plan(RowPasar({**row, "kota": {}}), None) is SLOW
    # An object of another class of the type still has its nested value completed by its plan.
    toko = Toko("Kios", 1, 1.0, Kota("Batu"), None)
    assert plan(toko, None) == {"nama": "Kios", "kota": {"nama": "Batu"}, "cabang": None}


def test_a_nested_field_needing_its_object_builds_it_and_answers_the_same() -> None:
    plan = _pasar_plan("nama", "julukan")
    RowKota.built = 0
    row = {"nama": "Pasar Besar", "kota": {"nama": "Malang", "julukan": "Kota Apel"}}
    assert plan(RowPasar(row), None) == {
        "nama": "Pasar Besar",
        "kota": {"nama": "Malang", "julukan": "Kota Apel"},
        "cabang": None,
    }
    assert RowKota.built == 1  # julukan is a read function: the object is built for it


class RowDagangan:
    __slots__ = ("row",)

    nama = RowField[str]("nama")
    harga = RowField.whole("harga")

    def __init__(self, row: dict[str, Any]) -> None:
        RowDagangan.built += 1
        self.row = row

    built = 0


def _daftar(rows: list[dict[str, Any]]) -> list[RowDagangan]:
    return [RowDagangan(r) for r in rows]


class RowLapak:
    __slots__ = ("row",)

    barang = RowField.nested_rows(RowDagangan, "barang", _daftar)

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row


def test_a_list_of_row_objects_is_completed_from_its_rows_in_one_call() -> None:
    item = compile_plan(
        [
            ("nama", Leaf("nama", GraphQLString.coerce_output_value, "str", True)),
            ("harga", Leaf("harga", GraphQLInt.coerce_output_value, "int", True)),
        ],
        RowAccess(RowDagangan, row_columns(RowDagangan)),
    )
    plan = compile_plan(
        [("barang", Child("barang", item, True, many=True, item_non_null=True))],
        RowAccess(RowLapak, row_columns(RowLapak)),
    )
    RowDagangan.built = 0
    rows = [{"nama": "Tempe", "harga": 5000}, {"nama": "Tahu", "harga": None}]
    assert plan(RowLapak({"barang": rows}), None) == {
        "barang": [{"nama": "Tempe", "harga": 5000}, {"nama": "Tahu", "harga": 0}]
    }
    assert plan(RowLapak({"barang": []}), None) == {"barang": []}
    assert RowDagangan.built == 0
    assert "for w0 in v0]" in plan.__sigma_source__  # type: ignore[attr-defined]
    # A row the field could not answer (a null name, a refused value, a null row) is
    # graphql-core's to report.
    assert plan(RowLapak({"barang": [*rows, {"nama": None, "harga": 1}]}), None) is SLOW
    assert plan(RowLapak({"barang": [*rows, {"nama": "Oncom", "harga": 2**40}]}), None) is SLOW
    assert plan(RowLapak({"barang": [*rows, {"nama": 7, "harga": 1}]}), None) == {
        "barang": [
            {"nama": "Tempe", "harga": 5000},
            {"nama": "Tahu", "harga": 0},
            {"nama": "7", "harga": 1},
        ]
    }
    assert plan(RowLapak({"barang": [None]}), None) is SLOW
    assert plan(RowLapak({"barang": None}), None) is SLOW
    # The descriptor still builds the objects for anyone reading the attribute.
    assert [d.nama for d in RowLapak({"barang": rows}).barang] == ["Tempe", "Tahu"]
