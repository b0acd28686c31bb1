"""The inline path for attribute leaves (sigma_graphql/execution/fast_execution.py) answers exactly
what
Strawberry's stock execution answers, including errors and null propagation, and really skips
graphql-core's per-field machinery. The same documents against the real app and databases,
with the fast path on and off, are compared in tests/test_round_trips.py."""

from __future__ import annotations

import enum
import gc
import warnings
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from sigma_graphql.core.field_metadata import INLINE
from sigma_graphql.execution.fast_execution import FastExecutor, streamline


@strawberry.enum
class Warna(enum.Enum):
    MERAH = "merah"
    HIJAU = "hijau"


@strawberry.type
class Item:
    nama: str
    jumlah: int
    harga: float | None
    warna: Warna
    kode_wilayah: str | None

    @strawberry.field
    def label(self) -> str:
        return f"{self.nama}:{self.jumlah}"

    @strawberry.field
    def kali(self, n: int) -> int:
        return self.jumlah * n

    @strawberry.field
    def tambah(
        self, info: strawberry.Info, nilai_tambah: int = 1, catatan: str | None = None
    ) -> str:
        return f"{info.field_name}:{info.path.key}:{self.jumlah + nilai_tambah}:{catatan}"

    @strawberry.field
    async def nanti(self, kode: strawberry.ID) -> str:
        return f"{kode}-{self.nama}"

    # Resolvers an inline plan may call (INLINE): synchronous, or now and then an awaitable.
    @strawberry.field(metadata={INLINE: True})
    def ganda(self, info: strawberry.Info, kali: int = 2) -> int:
        assert info.context is not None or info.context is None  # info is there
        return self.jumlah * kali

    @strawberry.field(metadata={INLINE: True}, graphql_type=str)
    def kadang(self) -> str | Awaitable[str]:
        return _later(self.nama) if self.jumlah % 10 == 3 else self.nama

    @strawberry.field(metadata={INLINE: True})
    def seen_info(self, info: strawberry.Info) -> bool:
        INFOS.append(info)
        return True

    @strawberry.field(metadata={INLINE: True})
    def rusak(self) -> int:
        if self.jumlah == 7:
            raise ValueError("rusak di tujuh")
        return self.jumlah


INFOS: list[strawberry.Info] = []  # what Item.seen_info was given, call after call


async def _later(nama: str) -> str:
    return f"nanti {nama}"


@dataclass
class Broken:
    """Looks like an Item but breaks the schema's promises in several ways."""

    nama: Any = None  # null for a non-null String
    jumlah: Any = "banyak"  # not an Int
    harga: Any = None
    warna: Any = "ungu"  # not a Warna
    # no kode_wilayah attribute at all


@strawberry.type
class Group:
    """Attribute fields holding objects and lists of objects (answered inline when every field
    selected below them is)."""

    nama: str
    first: Item | None
    items: list[Item]
    maybe: list[Item | None] | None

    @strawberry.field(metadata={INLINE: True})
    def utama(self) -> Item | None:
        return self.first


ITEMS = [
    Item(nama=f"Barang {i}", jumlah=i, harga=i * 1.5 if i % 2 else None, warna=w, kode_wilayah=k)
    for i, (w, k) in enumerate([(Warna.MERAH, "35.73"), (Warna.HIJAU, None)] * 50)
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def broken(self) -> list[Item]:
        return [ITEMS[0], Broken(), ITEMS[1]]  # type: ignore[list-item]

    @strawberry.field
    def maybe_items(self) -> list[Item | None]:
        return [ITEMS[0], None, ITEMS[1]]

    @strawberry.field
    def items_with_null(self) -> list[Item] | None:
        return [ITEMS[0], None]  # type: ignore[list-item]

    @strawberry.field
    def too_big(self) -> list[Item]:
        big = Item(nama="Besar", jumlah=2**40, harga=1.0, warna=Warna.MERAH, kode_wilayah=None)
        return [ITEMS[0], big]

    @strawberry.field
    def groups(self) -> list[Group]:
        return [
            Group(nama="g0", first=ITEMS[0], items=ITEMS[:10], maybe=[ITEMS[1], None]),
            Group(nama="g1", first=None, items=[], maybe=None),
        ]

    @strawberry.field
    def broken_groups(self) -> list[Group]:
        bad = Group(nama="bad", first=Broken(), items=[ITEMS[2], Broken()], maybe=[None])  # type: ignore[list-item,arg-type]
        return [Group(nama="ok", first=ITEMS[0], items=ITEMS[:2], maybe=None), bad]

    @strawberry.field
    def null_in_groups(self) -> list[Group]:
        return [Group(nama="n", first=None, items=[ITEMS[0], None], maybe=None)]  # type: ignore[list-item]

    @strawberry.field
    def broken_one(self) -> Item | None:
        return Broken()  # type: ignore[return-value]


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    stock = strawberry.Schema(query=Query)
    fast = strawberry.Schema(query=Query, execution_context_class=FastExecutor)
    streamline(fast)
    return stock, fast


STOCK, FAST = _schemas()

DOCUMENTS = {
    "leaves": "{ items { nama jumlah harga warna kodeWilayah } }",
    "aliases and typename": "{ items { __typename n: nama j: jumlah nama again: nama } }",
    "resolvers beside leaves": "{ items { nama label kali(n: 3) warna } }",
    "resolver arguments, defaults and info": """
        { items { a: tambah b: tambah(nilaiTambah: 5, catatan: "x") nanti(kode: "K") } }
    """,
    "fragments": """
        { items { ...A ... on Item { harga } } }
        fragment A on Item { nama warna }
    """,
    "directives": """
        query ($yes: Boolean!, $no: Boolean!) {
          items { nama @include(if: $yes) jumlah @skip(if: $yes) harga @include(if: $no) }
        }
    """,
    "null in non-null leaf propagates": "{ broken { nama } }",
    "bad int": "{ broken { jumlah } }",
    "bad int out of 32-bit range": "{ tooBig { nama jumlah } }",
    "bad enum": "{ broken { warna } }",
    "missing attribute": "{ broken { kodeWilayah } }",
    "list items may be null": "{ maybeItems { nama warna } }",
    "null item in a non-null-item list": "{ itemsWithNull { nama } }",
    "nested objects and lists": """
        { groups { nama first { nama warna } items { __typename nama jumlah harga }
                   maybe { kodeWilayah } } }
    """,
    "nested with fragments and directives": """
        query ($yes: Boolean!, $no: Boolean!) {
          groups { ...G items @include(if: $yes) { nama } first @skip(if: $yes) { nama } }
        }
        fragment G on Group { nama maybe @include(if: $no) { nama } first { a: jumlah } }
    """,
    "nested beside resolvers": "{ groups { items { nama label } first { kali(n: 2) } } }",
    "nested: null in non-null leaf propagates": "{ brokenGroups { nama first { nama } } }",
    "nested: bad int in a list": "{ brokenGroups { items { jumlah } } }",
    "nested: null item in a non-null list": "{ nullInGroups { items { nama } } }",
    "nullable parent": "{ brokenOne { nama jumlah warna kodeWilayah harga } }",
    "inline resolvers with arguments": "{ items { nama ganda g3: ganda(kali: 3) } }",
    "inline resolver answering an awaitable now and then": "{ items { nama kadang } }",
    "bad: inline resolver raising": "{ items { nama rusak } }",
    "inline resolver holding an object": "{ groups { nama utama { nama ganda } } }",
}


def _shape(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    errors = sorted((e.message, e.path) for e in (result.errors or []))
    return result.data, errors


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
async def test_fast_path_answers_like_stock_execution(name: str) -> None:
    variables = {"yes": True, "no": False}
    stock = await STOCK.execute(DOCUMENTS[name], variable_values=variables)
    fast = await FAST.execute(DOCUMENTS[name], variable_values=variables)
    assert _shape(fast) == _shape(stock)
    if name.startswith(("null ", "bad", "missing", "nullable", "nested: ")):
        assert fast.errors, "the broken rows must still be reported"
    else:
        assert not fast.errors and fast.data is not None


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parent type of every field graphql-core executes itself (not answered inline)."""
    seen: list[str] = []
    original = StrawberryGraphQLCoreExecutionContext.execute_field

    def counting(self: Any, parent_type: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(parent_type.name)
        return original(self, parent_type, *args, **kwargs)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counting)
    return seen


async def test_leaves_skip_graphql_core_field_machinery(calls: list[str]) -> None:
    doc = DOCUMENTS["leaves"]
    stock = await STOCK.execute(doc)
    stock_calls = len(calls)
    calls.clear()
    fast = await FAST.execute(doc)
    assert fast.data == stock.data
    assert stock_calls == 1 + 100 * 5
    assert calls == ["Query"], "100 items x 5 leaves must be answered inline"


def test_enums_coerce_by_lookup_and_still_refuse_strangers() -> None:
    warna = FAST._schema.type_map["Warna"]
    assert warna.coerce_output_value(Warna.HIJAU) == "HIJAU"  # type: ignore[attr-defined]
    assert warna.coerce_output_value("merah") == "MERAH"  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="cannot represent"):
        warna.coerce_output_value("ungu")  # type: ignore[attr-defined]


class _EveryField(strawberry.extensions.SchemaExtension):
    seen: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        _EveryField.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


async def test_per_field_extensions_still_see_every_field() -> None:
    schema = strawberry.Schema(
        query=Query, execution_context_class=FastExecutor, extensions=[_EveryField]
    )
    streamline(schema)
    _EveryField.seen.clear()
    result = await schema.execute("{ items { nama jumlah } }")
    assert not result.errors
    assert len(_EveryField.seen) == 1 + 100 * 2


async def _fast_equals_stock(doc: str, calls: list[str]) -> None:
    """Runs `doc` on the stock schema, then on the fast one: the same answer, no errors.
    `calls` is left with the fields graphql-core executed in the fast run."""
    stock = await STOCK.execute(doc)
    calls.clear()
    fast = await FAST.execute(doc)
    assert not fast.errors and fast.data == stock.data


async def test_nested_attribute_objects_skip_graphql_core_field_machinery(calls: list[str]) -> None:
    doc = "{ groups { nama first { nama } items { nama jumlah } maybe { warna } } }"
    await _fast_equals_stock(doc, calls)
    assert calls == ["Query"], "groups, their items and first answered inline"


async def test_a_document_sent_again_is_planned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    original = FastExecutor._reader

    def counting(self: Any, parent_type: Any, group: Any) -> Any:
        built.append(group[0].node.name.value)
        return original(self, parent_type, group)

    monkeypatch.setattr(FastExecutor, "_reader", counting)
    # The app parses through a cache (schema/build.py), so a document sent again is the
    # same parsed document.
    schema = strawberry.Schema(
        query=Query, execution_context_class=FastExecutor, extensions=[ParserCache]
    )
    streamline(schema)
    doc = "{ groups { nama first { nama } items { nama jumlah } } }"
    first = await schema.execute(doc)
    assert built, "the first request plans"
    built.clear()
    again = await schema.execute(doc)
    assert again.data == first.data and not again.errors
    assert built == [], "the same parsed document reuses its plans"
    # With directives the fields depend on the variables: planned per request, and right.
    doc = "query ($y: Boolean!) { groups { nama @include(if: $y) first { nama } } }"
    for y in (True, False, True):
        built.clear()
        fast = await schema.execute(doc, variable_values={"y": y})
        stock = await STOCK.execute(doc, variable_values={"y": y})
        assert fast.data == stock.data and not fast.errors
        assert built, "planned again"


async def test_inline_resolvers_run_without_graphql_core_and_leave_no_coroutine(
    calls: list[str],
) -> None:
    doc = "{ groups { nama utama { nama ganda(kali: 4) } } }"
    await _fast_equals_stock(doc, calls)
    assert calls == ["Query"], "groups and the objects their INLINE resolver holds, inline"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await FAST.execute(
            DOCUMENTS["inline resolver answering an awaitable now and then"]
        )
        gc.collect()
    assert not result.errors and result.data is not None
    assert result.data["items"][3]["kadang"] == "nanti Barang 3"
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_an_inline_resolver_gets_one_info_per_field_and_request(calls: list[str]) -> None:
    # Bound once (sigma_graphql/execution/fast_execution.py, method_resolver's bind): 100
    # calls share the field's Info and arguments instead of building them per object.
    INFOS.clear()
    result = await FAST.execute("{ items { seenInfo } }")
    assert not result.errors and result.data == {"items": [{"seenInfo": True}] * len(ITEMS)}
    assert calls == ["Query"]
    assert len(INFOS) == len(ITEMS) and len({id(i) for i in INFOS}) == 1
    assert INFOS[0].field_name == "seenInfo"
    first = INFOS[0]
    INFOS.clear()
    await FAST.execute("{ items { seenInfo } }")
    assert INFOS[0] is not first, "each request binds its own"
