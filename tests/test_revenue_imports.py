"""importFinancialLogs (issue 18, Imports): real multipart uploads to the live server, real CSV
and XLSX files, the real databases, and the aggregate recomputation check afterwards."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from db import financial_logs as fl
from db.drivers.handles import Databases
from tests.fin_support import FLAG, assert_exact, fin_umkm, submit
from tests.import_support import HEADER, IMPORT, csv_bytes, payload, upload, xlsx_bytes
from tests.support import Account, Api, Factory, LiveServer


def bearer(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


def tag() -> dict[str, str]:
    t = uuid.uuid4().hex[:8]
    return {"sektor": f"Simp{t}", "kota": f"Kimp{t}"}


async def months_of(dbs: Databases, umkm_id: uuid.UUID) -> dict[tuple[int, int], dict[str, Any]]:
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for tahun in await fl.years(dbs.cassandra, umkm_id):
        for row in await fl.partition(dbs.cassandra, umkm_id, tahun):
            out[(row["tahun"], row["bulan"])] = row
    return out


# 250 months for each of `umkms` UMKMs: 1,000 rows in `make test`, the 10,000 rows of the
# issue with `make test-slow` (about two and a half minutes on the 2-core machine).
@pytest.mark.parametrize(
    "umkms", [pytest.param(4, id="1k"), pytest.param(40, id="10k", marks=pytest.mark.slow)]
)
async def test_a_large_import_is_exact_and_a_second_upload_changes_nothing(
    server: LiveServer, dbs: Databases, factory: Factory, umkms: int
) -> None:
    names = tag()
    staff = await factory.account("PEJABAT")
    owner = await factory.account("UMKM_OWNER")
    docs = [await fin_umkm(factory, owner, **names) for _ in range(umkms)]
    periods = [(2005 + i // 12, i % 12 + 1) for i in range(250)]  # 2005-01 .. 2025-10
    rows: list[list[object]] = [list(HEADER)]
    for n, doc in enumerate(docs):
        for tahun, bulan in periods:
            rows.append([doc["_id"], tahun, bulan, 1_000_000 + n * 1_000 + bulan, 3, None])
    total = umkms * 250
    assert len(rows) == total + 1
    content = csv_bytes(rows, delimiter=",")

    first = payload(await upload(server, content, "omzet.csv", headers=bearer(staff)))
    assert first == {
        "rows": total,
        "imported": total,
        "unchanged": 0,
        "rejected": [],
        "userErrors": [],
    }
    ids = [d["_id"] for d in docs]
    years = sorted({t for t, _ in periods})
    last = umkms - 1
    stored = await months_of(dbs, ids[last])
    assert len(stored) == 250 and stored[(2025, 10)]["omzet"] == 1_000_000 + last * 1_000 + 10
    assert stored[(2025, 10)]["input_by"] == staff.id

    again = await upload(server, content, "omzet.csv", headers=bearer(staff))
    assert payload(again)["imported"] == 0 and payload(again)["unchanged"] == total
    assert await months_of(dbs, ids[last]) == stored  # not even tanggal_input moved
    assert await fl.audit_rows(dbs.cassandra, ids[last], 2025, 10) == []
    # Exact after both uploads (the second wrote nothing, so it could not repair the first).
    await assert_exact(dbs, ids, [names["sektor"]], [names["kota"]], years)
    # The unchanged upload of all the rows costs the MongoDB round trips of an unchanged upload of
    # one (the session, one read of the UMKMs) and Cassandra only the pages of one read of the
    # stored months: no per-row read, no write.
    small = csv_bytes([HEADER, [ids[0], 2005, 1, 1_000_001, 3, None]])
    one = await upload(server, small, "satu.csv", headers=bearer(staff))
    assert payload(one)["unchanged"] == 1
    many_trips = again.json()["extensions"]["dbRoundTrips"]
    one_trips = one.json()["extensions"]["dbRoundTrips"]
    assert many_trips["mongo"] == one_trips["mongo"] == 2
    assert one_trips["cassandra"] == 1 and many_trips["cassandra"] <= total // 5_000 + 1


async def test_rows_follow_the_rules_of_submit_financial_log(
    server: LiveServer, api: Api, dbs: Databases, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    other = await factory.account("UMKM_OWNER")
    mine = await fin_umkm(factory, owner, **tag())
    theirs = await fin_umkm(factory, other, **tag())
    pending = await fin_umkm(factory, owner, status="PENDING", **tag())
    content = csv_bytes(
        [
            HEADER,
            [mine["_id"], 2024, 1, 5_000_000, 2, "baik"],  # valid
            [mine["_id"], 2024, 13, 5_000_000, 2, None],  # bulan out of range
            [mine["_id"], 2099, 1, 5_000_000, 2, None],  # tahun in the future
            [theirs["_id"], 2024, 2, 1, 1, None],  # not the owner's
            [pending["_id"], 2024, 2, 1, 1, None],  # not verified
            [mine["_id"], 2024, 1, 7, 1, None],  # the same month twice
            [mine["_id"], 2024, 3, "", 1, None],  # omzet missing
            [mine["_id"], 2024, 4, "1.500.000", 1, None],  # thousands separators
        ]
    )
    body = payload(await upload(server, content, "x.csv", headers=bearer(owner)))
    assert body["imported"] == 0 and body["rows"] == 8
    found = {(e["row"], e["column"], e["code"]) for e in body["rejected"]}
    assert found == {
        (3, "bulan", "OUT_OF_RANGE"),
        (4, "tahun", "OUT_OF_RANGE"),
        (5, "umkmId", "FORBIDDEN"),
        (6, "umkmId", "FORBIDDEN"),
        (7, "bulan", "INVALID"),
        (8, "omzet", "REQUIRED"),
        (9, "omzet", "INVALID"),
    }
    # Same messages as the API's
    api_answer = await submit(api, owner.token, mine["_id"], 2024, 13, 1)
    [api_error] = api_answer["userErrors"]
    [row_error] = [e for e in body["rejected"] if e["row"] == 3]
    assert row_error["message"] == api_error["message"]
    assert await months_of(dbs, mine["_id"]) == {}  # ALL_OR_NOTHING: nothing written

    english = await upload(
        server, content, "x.csv", headers={**bearer(owner), "Accept-Language": "en"}
    )
    [foreign] = [e for e in payload(english)["rejected"] if e["row"] == 5]
    assert foreign["message"] == "You can only report for your own UMKM"

    valid_only = payload(
        await upload(
            server,
            content,
            "x.csv",
            headers=bearer(owner),
            variables={"mode": "VALID_ROWS_ONLY"},
        )
    )
    assert valid_only["imported"] == 1 and len(valid_only["rejected"]) == 7
    assert list(await months_of(dbs, mine["_id"])) == [(2024, 1)]
    assert await months_of(dbs, theirs["_id"]) == {}


async def test_a_resubmitted_month_keeps_its_flag_and_gets_an_audit_row(
    server: LiveServer, api: Api, dbs: Databases, factory: Factory
) -> None:
    names = tag()
    owner = await factory.account("UMKM_OWNER")
    staff = await factory.account("PEJABAT")
    doc = await fin_umkm(factory, owner, **names)
    await submit(api, owner.token, doc["_id"], 2023, 5, 100, 4, "awal")
    flagged = await api.as_(staff.token)(
        FLAG,
        {"input": {"umkmId": str(doc["_id"]), "tahun": 2023, "bulan": 5, "reason": "angka aneh x"}},
    )
    assert flagged.ok()["flagFinancialLog"]["log"]["isFlagged"]
    # No umkmId column: the request names the UMKM; jumlahKaryawan/catatan absent: kept.
    content = csv_bytes([["tahun", "bulan", "omzet"], [2023, 5, 250], [2023, 6, 300]])
    body = payload(
        await upload(
            server, content, "u.csv", headers=bearer(owner), variables={"umkmId": str(doc["_id"])}
        )
    )
    assert (body["imported"], body["unchanged"], body["rejected"]) == (2, 0, [])
    stored = await months_of(dbs, doc["_id"])
    assert stored[(2023, 5)]["omzet"] == 250 and stored[(2023, 5)]["is_flagged"]
    assert stored[(2023, 5)]["jumlah_karyawan"] == 4 and stored[(2023, 5)]["catatan"] == "awal"
    assert stored[(2023, 6)]["jumlah_karyawan"] == 0
    [audit] = await fl.audit_rows(dbs.cassandra, doc["_id"], 2023, 5)
    assert (audit["old_omzet"], audit["new_omzet"]) == (100, 250)
    await assert_exact(dbs, [doc["_id"]], [names["sektor"]], [names["kota"]], [2023])
    # the same file again: nothing changes, no new audit row
    again = await upload(
        server, content, "u.csv", headers=bearer(owner), variables={"umkmId": str(doc["_id"])}
    )
    assert payload(again)["unchanged"] == 2
    assert len(await fl.audit_rows(dbs.cassandra, doc["_id"], 2023, 5)) == 1


async def _refused(
    server: LiveServer,
    dbs: Databases,
    owner: Account,
    umkm_id: uuid.UUID,
    content: bytes,
    filename: str,
) -> str:
    """The file is refused as a whole with one userError naming `file`; nothing is written."""
    body = payload(await upload(server, content, filename, headers=bearer(owner)))
    assert body["imported"] == 0, body
    [error] = body["userErrors"]
    assert error["field"] == ["file"], error
    assert await months_of(dbs, umkm_id) == {}
    return str(error["message"])


async def test_bad_files_are_refused_with_a_clear_message_and_nothing_written(
    server: LiveServer, dbs: Databases, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner, **tag())
    u = doc["_id"]
    good = [HEADER, [u, 2024, 1, 100, 1, None]]

    latin1 = f"umkmId;tahun;bulan;omzet;catatan\r\n{u};2024;1;100;caf\xe9\r\n"
    message = await _refused(server, dbs, owner, u, latin1.encode("latin-1"), "a.csv")
    assert "UTF-8" in message
    utf16 = csv_bytes(good).decode().encode("utf-16")
    assert "UTF-8" in await _refused(server, dbs, owner, u, utf16, "a.csv")

    assert "kosong" in await _refused(server, dbs, owner, u, b"", "a.csv")
    header_only = csv_bytes([HEADER])
    assert "kosong" in await _refused(server, dbs, owner, u, header_only, "a.csv")
    empty_xlsx = xlsx_bytes([])
    assert "kosong" in await _refused(server, dbs, owner, u, empty_xlsx, "a.xlsx")

    # (sektor, kota, ... are the revenue export's read-only columns: accepted and ignored)
    extra = csv_bytes([[*HEADER, "diskon"], [u, 2024, 1, 100, 1, None, "x"]])
    message = await _refused(server, dbs, owner, u, extra, "a.csv")
    assert "diskon" in message and "tidak dikenal" in message
    missing = csv_bytes([["umkmId", "tahun", "omzet"], [u, 2024, 100]])
    assert "bulan" in await _refused(server, dbs, owner, u, missing, "a.csv")

    formula = xlsx_bytes([HEADER, [str(u), 2024, 1, "=100*2", 1, None]])
    message = await _refused(server, dbs, owner, u, formula, "a.xlsx")
    assert "D2" in message and "rumus" in message
    merged = xlsx_bytes(
        [HEADER, [str(u), 2024, 1, 100, 1, "a"], [str(u), 2024, 2, 100, 1, None]], merge="F2:F3"
    )
    assert "F2:F3" in await _refused(server, dbs, owner, u, merged, "a.xlsx")
    assert "CSV atau XLSX" in await _refused(
        server, dbs, owner, u, b"PK\x03\x04not really a zip", "a.xlsx"
    )

    # Cell problems are rejected rows (row and column named); ALL_OR_NOTHING writes nothing.
    cases: list[tuple[bytes, str, tuple[int, str, str], str]] = [
        (
            csv_bytes([HEADER, [u, 2024, "2024-03", 100, 1, None], good[1]]),
            "d.csv",
            (2, "bulan", "INVALID"),
            "Tanggal",
        ),
        (
            xlsx_bytes([HEADER, [str(u), datetime(2024, 3, 1), 3, 100, 1, None], good[1]]),
            "d.xlsx",
            (2, "tahun", "INVALID"),
            "Tanggal",
        ),
        (
            xlsx_bytes([HEADER, [str(u), 2024, 3, "1500000", 1, None], good[1]]),
            "t.xlsx",
            (2, "omzet", "INVALID"),
            "teks",
        ),
        (
            xlsx_bytes([HEADER, [str(u), 2024, 3, 100.5, 1, None], good[1]]),
            "f.xlsx",
            (2, "omzet", "INVALID"),
            "bilangan bulat",
        ),
    ]
    for content, filename, where, words in cases:
        body = payload(await upload(server, content, filename, headers=bearer(owner)))
        assert body["imported"] == 0 and body["userErrors"] == []
        [error] = body["rejected"]
        assert (error["row"], error["column"], error["code"]) == where
        assert words in error["message"]
        assert await months_of(dbs, u) == {}


async def test_file_limits_come_from_settings(
    server_factory: Any, dbs: Databases, factory: Factory
) -> None:
    small = server_factory(import_max_bytes=2_000, import_max_rows=5, import_max_columns=6)
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner, **tag())
    u = doc["_id"]
    rows = [HEADER, *[[u, 2024, m, 100, 1, None] for m in range(1, 7)]]
    message = await _refused(small, dbs, owner, u, csv_bytes(rows), "a.csv")
    assert "5" in message
    big = csv_bytes([HEADER, [u, 2024, 1, 100, 1, "x" * 400]] * 1) + b"\r\n" * 2_000
    assert "2000" in await _refused(small, dbs, owner, u, big, "a.csv")
    wide = csv_bytes([[*HEADER, "", "x"], [u, 2024, 1, 100, 1, None]])
    assert "6" in await _refused(small, dbs, owner, u, wide, "a.csv")
    ok = payload(await upload(small, csv_bytes(rows[:6]), "a.csv", headers=bearer(owner)))
    assert ok["imported"] == 5


async def test_templates_round_trip_and_csv_variants(
    server: LiveServer, dbs: Databases, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner, **tag())
    async with httpx.AsyncClient(base_url=server.base) as client:
        csv_template = await client.get("/templates/financial-logs.csv")
        xlsx_template = await client.get("/templates/financial-logs.xlsx")
    assert csv_template.status_code == 200 and xlsx_template.status_code == 200
    assert csv_template.content.decode("utf-8-sig").strip() == ";".join(HEADER)
    # Filled in as a spreadsheet user would, then uploaded.
    book = load_workbook(io.BytesIO(xlsx_template.content))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER
    sheet.append([str(doc["_id"]), 2022, 7, 1_234_567, 5, "dari templat"])
    out = io.BytesIO()
    book.save(out)
    body = payload(await upload(server, out.getvalue(), "templat.xlsx", headers=bearer(owner)))
    assert (body["imported"], body["rejected"], body["userErrors"]) == (1, [], [])
    filled = csv_template.content + f"{doc['_id']};2022;8;99;1;catatan\r\n".encode()
    assert payload(await upload(server, filled, "t.csv", headers=bearer(owner)))["imported"] == 1
    comma = csv_bytes([HEADER, [doc["_id"], 2022, 9, 5, 1, None]], delimiter=",", bom=True)
    assert payload(await upload(server, comma, "c.csv", headers=bearer(owner)))["imported"] == 1
    stored = await months_of(dbs, doc["_id"])
    assert (
        stored[(2022, 7)]["omzet"] == 1_234_567 and stored[(2022, 7)]["catatan"] == "dari templat"
    )
    assert {k for k in stored} == {(2022, 7), (2022, 8), (2022, 9)}


async def test_multipart_needs_the_preflight_header(
    server: LiveServer, dbs: Databases, factory: Factory
) -> None:
    owner = await factory.account("UMKM_OWNER")
    doc = await fin_umkm(factory, owner, **tag())
    content = csv_bytes([HEADER, [doc["_id"], 2024, 1, 100, 1, None]])
    # A cross-site form cannot add the header: refused whatever the credentials.
    for headers, cookies in ((bearer(owner), None), ({}, {"session_token": owner.token})):
        refused = await upload(
            server, content, "a.csv", headers=headers, cookies=cookies, preflight=False
        )
        assert refused.status_code == 400
        assert "Apollo-Require-Preflight" in refused.json()["errors"][0]["message"]
    assert await months_of(dbs, doc["_id"]) == {}
    # With the header, a cookie session counts for a multipart request.
    done = await upload(
        server, content, "a.csv", headers={}, cookies={"session_token": owner.token}
    )
    assert payload(done)["imported"] == 1


async def test_a_json_request_without_a_file_gets_a_user_error(api: Api, factory: Factory) -> None:
    owner = await factory.account("UMKM_OWNER")
    answer = await api.as_(owner.token)(IMPORT, {"file": "omzet.csv"})
    [error] = answer.ok()["importFinancialLogs"]["userErrors"]
    assert (error["field"], error["code"]) == (["file"], "REQUIRED")
