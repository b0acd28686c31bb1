"""Monthly logs over the API: validation, who may write, re-submission audit, reads and paging."""

from __future__ import annotations

import uuid

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.handles import Databases
from sigma_graphql.core.clock import current_month
from tests.fin_support import SUBMIT, fin_umkm, submit
from tests.support import Api, Factory


def _input(umkm_id: object, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "umkmId": str(umkm_id),
        "tahun": 2024,
        "bulan": 5,
        "omzet": 1_000_000,
        "jumlahKaryawan": 4,
        "catatan": None,
    }
    base.update(over)
    return {"input": base}


async def test_every_validation_rule_reported_together(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    doc = await fin_umkm(factory, owner)
    call = api.as_(owner.token)
    resp = await call(
        SUBMIT,
        _input(
            doc["_id"],
            tahun=1999,
            bulan=13,
            omzet=10**15 + 1,
            jumlahKaryawan=100_001,
            catatan="x" * 501,
        ),
    )
    errs = resp.ok()["submitFinancialLog"]["userErrors"]
    got = {(tuple(e["field"]), e["code"]) for e in errs}
    assert got == {
        (("input", "tahun"), "OUT_OF_RANGE"),
        (("input", "bulan"), "OUT_OF_RANGE"),
        (("input", "omzet"), "OUT_OF_RANGE"),
        (("input", "jumlahKaryawan"), "OUT_OF_RANGE"),
        (("input", "catatan"), "TOO_LONG"),
    }
    assert resp.data["submitFinancialLog"]["log"] is None
    assert await fl.years(factory.dbs.cassandra, doc["_id"]) == []  # nothing written


async def test_boundaries_are_accepted(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    doc = await fin_umkm(factory, owner)
    tahun, bulan = current_month()
    for over in (
        {"tahun": 2000, "bulan": 1, "omzet": 0, "jumlahKaryawan": 0},
        {"tahun": tahun, "bulan": bulan, "omzet": 10**15, "jumlahKaryawan": 100_000},
        {"bulan": 12, "catatan": "y" * 500},
    ):
        resp = await api.as_(owner.token)(SUBMIT, _input(doc["_id"], **over))
        assert resp.ok()["submitFinancialLog"]["userErrors"] == [], over


async def test_future_month_and_future_year(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    doc = await fin_umkm(factory, owner)
    tahun, bulan = current_month()
    call = api.as_(owner.token)
    next_year = await call(SUBMIT, _input(doc["_id"], tahun=tahun + 1, bulan=1))
    errs = next_year.ok()["submitFinancialLog"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errs] == [(["input", "tahun"], "OUT_OF_RANGE")]
    if bulan < 12:
        next_month = await call(SUBMIT, _input(doc["_id"], tahun=tahun, bulan=bulan + 1))
        errs = next_month.ok()["submitFinancialLog"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errs] == [(["input", "bulan"], "OUT_OF_RANGE")]
    # English on request
    en = await call(SUBMIT, _input(doc["_id"], tahun=tahun + 1), headers={"Accept-Language": "en"})
    assert "between" in en.ok()["submitFinancialLog"]["userErrors"][0]["message"]


async def test_negative_omzet_is_refused_by_the_scalar(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    doc = await fin_umkm(factory, owner)
    resp = await api.as_(owner.token)(SUBMIT, _input(doc["_id"], omzet=-1))
    assert resp.errors and resp.data is None


async def test_who_may_submit(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    other = await factory.account()
    staff = await factory.account("PEJABAT")
    own = await fin_umkm(factory, owner)
    pending = await fin_umkm(factory, owner, status="PENDING")
    rejected = await fin_umkm(factory, owner, status="REJECTED")
    deleted = await fin_umkm(factory, owner, deleted=True)
    foreign = await fin_umkm(factory, other)

    async def codes(token: str, umkm_id: object) -> list[str]:
        resp = await api.as_(token)(SUBMIT, _input(umkm_id))
        return [e["code"] for e in resp.ok()["submitFinancialLog"]["userErrors"]]

    assert await codes(owner.token, own["_id"]) == []
    assert await codes(owner.token, foreign["_id"]) == ["FORBIDDEN"]
    assert await codes(owner.token, pending["_id"]) == ["FORBIDDEN"]
    assert await codes(owner.token, rejected["_id"]) == ["FORBIDDEN"]
    assert await codes(owner.token, deleted["_id"]) == ["NOT_FOUND"]
    assert await codes(owner.token, uuid.uuid4()) == ["NOT_FOUND"]
    assert await codes(owner.token, "not-a-uuid") == ["NOT_FOUND"]
    assert await codes(staff.token, foreign["_id"]) == []
    assert await codes(staff.token, pending["_id"]) == ["FORBIDDEN"]
    for doc in (foreign, pending, rejected, deleted):
        if doc is not foreign:
            assert await fl.get(factory.dbs.cassandra, doc["_id"], 2024, 5) is None
    public = await api(SUBMIT, _input(own["_id"]))
    assert public.error_codes == ["UNAUTHENTICATED"]


async def test_resubmission_replaces_and_audits(api: Api, factory: Factory, dbs: Databases) -> None:
    owner = await factory.account()
    staff = await factory.account("PEJABAT")
    doc = await fin_umkm(factory, owner)
    first = await submit(api, owner.token, doc["_id"], 2024, 3, 5_000_000, 2, "awal")
    assert first["log"]["omzet"] == 5_000_000 and first["log"]["catatan"] == "awal"
    assert await fl.audit_rows(dbs.cassandra, doc["_id"], 2024, 3) == []
    second = await submit(api, staff.token, doc["_id"], 2024, 3, 7_000_000, 3, "koreksi")
    assert second["userErrors"] == []
    assert (second["log"]["omzet"], second["log"]["jumlahKaryawan"]) == (7_000_000, 3)
    row = await fl.get(dbs.cassandra, doc["_id"], 2024, 3)
    assert row is not None and row["omzet"] == 7_000_000 and row["input_by"] == staff.id
    audit = await fl.audit_rows(dbs.cassandra, doc["_id"], 2024, 3)
    assert len(audit) == 1
    a = audit[0]
    assert a["changed_by"] == staff.id
    assert (a["old_omzet"], a["new_omzet"]) == (5_000_000, 7_000_000)
    assert (a["old_jumlah_karyawan"], a["new_jumlah_karyawan"]) == (2, 3)
    assert (a["old_catatan"], a["new_catatan"]) == ("awal", "koreksi")
    assert a["changed_at"] is not None


async def test_summary_is_the_latest_month_not_the_last_entered(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account()
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2024, 6, 600)
    await submit(api, owner.token, doc["_id"], 2023, 12, 1200)  # older, entered later
    await submit(api, owner.token, doc["_id"], 2024, 2, 200)
    fresh = await umkm_profiles.find_by_id(dbs.mongo, doc["_id"])
    assert fresh is not None
    assert fresh["summary_terakhir"] == {"tahun": 2024, "bulan": 6, "omzet": 600}
    await submit(api, owner.token, doc["_id"], 2024, 6, 650)  # re-submit the latest month
    fresh = await umkm_profiles.find_by_id(dbs.mongo, doc["_id"])
    assert fresh is not None and fresh["summary_terakhir"]["omzet"] == 650


LOGS = """
query($t: Int!, $first: Int, $after: String, $lt: Int) {
  flaggedFinancialLogs(tahun: $t) {
    nodes {
      umkm {
        id
        summaryTerakhir { tahun bulan omzet }
        financialLogs(tahun: $lt, first: $first, after: $after) {
          nodes { tahun bulan omzet }
          edges { cursor }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }
}
"""

DELETE = """
mutation($u: ID!, $t: Int!, $b: Int!) {
  deleteFinancialLog(umkmId: $u, tahun: $t, bulan: $b) { ok userErrors { code } }
}
"""


async def test_financial_logs_newest_first_with_paging_across_years(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    from tests.fin_support import FLAG

    owner = await factory.account()
    staff = await factory.account("PEJABAT")
    admin = await factory.account("ADMIN")
    doc = await fin_umkm(factory, owner)
    months = [(2001, b) for b in (11, 12)] + [(2002, b) for b in range(1, 13)] + [(2003, 1)]
    for tahun, bulan in months:
        await submit(api, owner.token, doc["_id"], tahun, bulan, tahun * 100 + bulan)
    flag = await api.as_(staff.token)(
        FLAG,
        {
            "input": {
                "umkmId": str(doc["_id"]),
                "tahun": 2001,
                "bulan": 11,
                "reason": "cek ulang omzet",
            }
        },
    )
    assert flag.ok()["flagFinancialLog"]["userErrors"] == []
    expected = sorted(months, reverse=True)
    seen: list[tuple[int, int]] = []
    after = None
    while True:
        resp = await api.as_(staff.token)(LOGS, {"t": 2001, "first": 5, "after": after})
        conn = resp.ok()["flaggedFinancialLogs"]["nodes"][0]["umkm"]["financialLogs"]
        seen += [(n["tahun"], n["bulan"]) for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == expected
    # one year only; default first is 24
    resp = await api.as_(staff.token)(LOGS, {"t": 2001, "lt": 2002})
    umkm = resp.ok()["flaggedFinancialLogs"]["nodes"][0]["umkm"]
    assert [n["bulan"] for n in umkm["financialLogs"]["nodes"]] == list(range(12, 0, -1))
    assert umkm["summaryTerakhir"] == {"tahun": 2003, "bulan": 1, "omzet": 200301}
    # deleting the latest month moves the summary back (ADMIN only)
    denied = await api.as_(staff.token)(DELETE, {"u": str(doc["_id"]), "t": 2003, "b": 1})
    assert denied.error_codes == ["FORBIDDEN"]
    gone = await api.as_(admin.token)(DELETE, {"u": str(doc["_id"]), "t": 2003, "b": 1})
    assert gone.ok()["deleteFinancialLog"] == {"ok": True, "userErrors": []}
    again = await api.as_(admin.token)(DELETE, {"u": str(doc["_id"]), "t": 2003, "b": 1})
    assert again.ok()["deleteFinancialLog"]["userErrors"] == [{"code": "NOT_FOUND"}]
    fresh = await umkm_profiles.find_by_id(dbs.mongo, doc["_id"])
    assert fresh is not None
    assert fresh["summary_terakhir"] == {"tahun": 2002, "bulan": 12, "omzet": 200212}
    bad = await api.as_(staff.token)(LOGS, {"t": 2001, "after": "%%%"})
    assert bad.error_codes == ["BAD_USER_INPUT"]


OWN_VIEW = """
mutation($input: SubmitFinancialLogInput!) {
  submitFinancialLog(input: $input) {
    log {
      inputBy { id }
      umkm { financialLogs(first: 2) { nodes { tahun bulan inputBy { id } } } }
    }
  }
}
"""


async def test_owner_sees_own_logs_but_not_staff_fields(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2005, 1, 10)
    resp = await api.as_(owner.token)(OWN_VIEW, _input(doc["_id"], tahun=2005, bulan=2))
    log = resp.ok()["submitFinancialLog"]["log"]
    assert log["inputBy"] is None  # staff only
    assert log["umkm"]["financialLogs"]["nodes"] == [
        {"tahun": 2005, "bulan": 2, "inputBy": None},
        {"tahun": 2005, "bulan": 1, "inputBy": None},
    ]


BY_ID = """
query($id: ID!) {
  umkm(id: $id) {
    summaryTerakhir { tahun bulan omzet }
    financialLogs { nodes { bulan } pageInfo { hasNextPage } }
  }
}
"""


async def test_logs_and_summary_only_for_staff_and_owner(api: Api, factory: Factory) -> None:
    owner = await factory.account()
    stranger = await factory.account()
    staff = await factory.account("PEJABAT")
    doc = await fin_umkm(factory, owner)
    await submit(api, owner.token, doc["_id"], 2009, 3, 30)
    seen = {}
    for name, token in (
        ("public", None),
        ("stranger", stranger.token),
        ("owner", owner.token),
        ("staff", staff.token),
    ):
        resp = await api.as_(token)(BY_ID, {"id": str(doc["_id"])})
        seen[name] = resp.ok()["umkm"]
    hidden = {
        "summaryTerakhir": None,
        "financialLogs": {"nodes": [], "pageInfo": {"hasNextPage": False}},
    }
    shown = {
        "summaryTerakhir": {"tahun": 2009, "bulan": 3, "omzet": 30},
        "financialLogs": {"nodes": [{"bulan": 3}], "pageInfo": {"hasNextPage": False}},
    }
    assert seen == {"public": hidden, "stranger": hidden, "owner": shown, "staff": shown}


def test_rows_are_grouped_by_partition_whatever_their_order() -> None:
    # _group_partitions groups runs of one partition as slices; the result must be what one
    # look-up per row gives, for runs split apart and for UUIDs equal but not identical.
    a, b = uuid.uuid4(), uuid.uuid4()

    def row(u: uuid.UUID, tahun: int, bulan: int) -> dict[str, object]:
        return {"umkm_id": uuid.UUID(int=u.int), "tahun": tahun, "bulan": bulan}

    rows = [row(a, 2024, 3), row(a, 2024, 1), row(a, 2025, 2), row(b, 2024, 5), row(a, 2024, 7)]
    grouped: dict[tuple[uuid.UUID, int], list[dict[str, object]]] = {}
    fl._group_partitions(rows, grouped)  # type: ignore[arg-type]
    expected: dict[tuple[uuid.UUID, int], list[dict[str, object]]] = {}
    for r in rows:
        expected.setdefault((r["umkm_id"], r["tahun"]), []).append(r)  # type: ignore[arg-type]
    assert grouped == expected
    assert [r["bulan"] for r in grouped[(a, 2024)]] == [3, 1, 7]
    fl._group_partitions([], grouped)  # type: ignore[arg-type]
    assert grouped == expected
