"""Exports (issue 18, staff): real jobs on the live server, real files downloaded over HTTP and
read back, compared column by column with what GraphQL shows the same viewer.

The restart of a process in the middle of a job: tests/test_exports_restart.py.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from db import export_files, export_jobs
from db.drivers.handles import Databases
from db.maintenance.export_cleanup import clean_exports
from schema.types.exports import REVENUE_COLUMNS, UMKM_COLUMNS
from sigma_graphql.core.download_tokens import _SALT
from sigma_graphql.core.sheet_writers import csv_safe
from tests.exports_support import (
    JOB,
    START,
    download,
    export,
    finished,
    moment,
    path_of,
    read_csv,
    read_xlsx,
    running_job,
    start,
    subscription,
)
from tests.fin_support import fin_umkm, submit
from tests.import_support import payload, upload
from tests.support import Api, Factory, LiveServer

UMKMS = """query($f: UMKMFilter) {
  umkms(filter: $f, first: 100) { nodes {
    id namaUsaha sektor tanggalBergabung isDeleted deletedAt
    wilayah { kota provinsi alamatLengkap }
    lokasi { latitude longitude }
    legalitas { nib pirt halal dokumenUrl statusVerifikasi tanggalVerifikasi rejectionReason
                verifiedBy { id } }
    owner { id }
    pemilik { nama nik telepon email }
    summaryTerakhir { tahun bulan omzet }
  } }
}"""

LOGS = """query($id: ID!) {
  umkm(id: $id) { financialLogs(first: 100) { nodes {
    umkmId tahun bulan omzet jumlahKaryawan catatan isFlagged } } }
}"""

TIME_COLUMNS = {"tanggalBergabung", "tanggalVerifikasi", "deletedAt"}


def _graphql_row(node: dict[str, Any]) -> dict[str, Any]:
    """UMKM_COLUMNS as GraphQL shows the UMKM (null where the viewer may not read)."""
    legal, wil = node["legalitas"], node["wilayah"]
    p, s, lok = node["pemilik"] or {}, node["summaryTerakhir"] or {}, node["lokasi"] or {}
    return {
        "id": node["id"],
        "namaUsaha": node["namaUsaha"],
        "sektor": node["sektor"],
        "statusVerifikasi": legal["statusVerifikasi"],
        "kota": wil["kota"],
        "provinsi": wil["provinsi"],
        "alamatLengkap": wil["alamatLengkap"],
        "latitude": lok.get("latitude"),
        "longitude": lok.get("longitude"),
        "tanggalBergabung": node["tanggalBergabung"],
        "nib": legal["nib"],
        "pirt": legal["pirt"],
        "halal": legal["halal"],
        "dokumenUrl": legal["dokumenUrl"],
        "tanggalVerifikasi": legal["tanggalVerifikasi"],
        "rejectionReason": legal["rejectionReason"],
        "verifiedById": (legal["verifiedBy"] or {}).get("id"),
        "ownerId": (node["owner"] or {}).get("id"),
        "pemilikNama": p.get("nama"),
        "pemilikNik": p.get("nik"),
        "pemilikTelepon": p.get("telepon"),
        "pemilikEmail": p.get("email"),
        "isDeleted": node["isDeleted"],
        "deletedAt": node["deletedAt"],
        "summaryTahun": s.get("tahun"),
        "summaryBulan": s.get("bulan"),
        "summaryOmzet": s.get("omzet"),
    }


def _csv_value(column: str, raw: str) -> Any:
    """A CSV cell back as the GraphQL value (empty = null)."""
    if raw == "":
        return None
    if column in TIME_COLUMNS:
        return moment(raw)
    if column in ("latitude", "longitude"):
        return float(raw)
    if column in ("halal", "isDeleted", "isFlagged"):
        return {"true": True, "false": False}[raw]
    if column.startswith("summary") or column in ("tahun", "bulan", "omzet", "jumlahKaryawan"):
        return int(raw)
    return raw


def _normal(row: dict[str, Any]) -> dict[str, Any]:
    return {k: moment(v) if k in TIME_COLUMNS else v for k, v in row.items()}


@pytest.fixture(scope="module")
async def registry(factory: Factory, dbs: Databases, api: Api) -> dict[str, Any]:
    """UMKMs of one kota of their own: VERIFIED with a reported month, PENDING, REJECTED with
    a reason, VERIFIED by a named official, and a deleted one."""
    tag = uuid.uuid4().hex[:8]
    kota = f"Kota Ekspor {tag}"
    owner = await factory.account("UMKM_OWNER")
    official = await factory.account("PEJABAT")
    coll = dbs.mongo["umkm_profiles"]
    verified = await fin_umkm(factory, owner, kota=kota)
    await submit(api, owner.token, verified["_id"], 2024, 3, 1_250_000)
    pending = await factory.umkm(owner, status="PENDING", kota=kota, nama=f"=HYPERLINK {tag}")
    rejected = await factory.umkm(owner, status="REJECTED", kota=kota, latitude=None)
    await coll.update_one(
        {"_id": rejected["_id"]},
        {"$set": {"legalitas.rejection_reason": 'NIB; tidak "terbaca"\nulangi'}},
    )
    by_official = await factory.umkm(None, kota=kota)
    await coll.update_one(
        {"_id": by_official["_id"]}, {"$set": {"legalitas.verified_by": official.id}}
    )
    deleted = await factory.umkm(owner, kota=kota, deleted=True)
    return {
        "kota": kota,
        "owner": owner,
        "ids": {str(d["_id"]) for d in (verified, pending, rejected, by_official)},
        "deleted": str(deleted["_id"]),
        "verified": verified,
    }


async def _expected(api: Api, token: str, f: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = (await api.as_(token)(UMKMS, {"f": f})).ok()["umkms"]["nodes"]
    return {n["id"]: _normal(_graphql_row(n)) for n in nodes}


@pytest.mark.parametrize("role", ["PEJABAT", "ADMIN"])
@pytest.mark.parametrize("fmt", ["CSV", "XLSX"])
async def test_every_registry_column_is_what_graphql_shows_the_viewer(
    api: Api, factory: Factory, registry: dict[str, Any], server: LiveServer, role: str, fmt: str
) -> None:
    staff = await factory.account(role)
    f: dict[str, Any] = {"kota": registry["kota"]}
    if role == "ADMIN":
        f["includeDeleted"] = True
    job = await export(api, staff.token, kind="UMKM_REGISTRY", format=fmt, filter=f)
    answer = await download(server, job["downloadUrl"], staff.token)
    assert answer.status_code == 200, answer.text
    assert "attachment" in answer.headers["content-disposition"]
    if fmt == "CSV":
        assert answer.headers["content-type"].startswith("text/csv")
        raw = read_csv(answer.content)
        rows = [{c: _csv_value(c, v) for c, v in r.items()} for r in raw]
    else:
        rows = [_normal(r) for r in read_xlsx(answer.content)]
    assert [c.name for c in UMKM_COLUMNS] == list(rows[0])
    have = {r["id"]: r for r in rows}
    want = await _expected(api, staff.token, f)
    expected_ids = registry["ids"] | ({registry["deleted"]} if role == "ADMIN" else set())
    assert set(have) == set(want) == expected_ids
    assert job["rowCount"] == len(expected_ids)
    for umkm_id, row in want.items():
        for column, value in row.items():
            got = have[umkm_id][column]
            if fmt == "XLSX" and column in ("summaryTahun", "summaryBulan", "summaryOmzet"):
                got = None if got is None else int(got)
            if fmt == "CSV" and isinstance(value, str):
                value = csv_safe(value)  # formula-looking text keeps a leading apostrophe
            assert got == value, (role, fmt, umkm_id, column, got, value)
    # The permission table, as the file shows it: NIK masked for PEJABAT, whole for ADMIN.
    niks = {r["pemilikNik"] for r in rows}
    assert niks == ({"3573********0001"} if role == "PEJABAT" else {"3573010101010001"})
    # Text a spreadsheet would run as a formula is written as text.
    name = next(r["namaUsaha"] for r in rows if str(r["namaUsaha"]).lstrip("'").startswith("="))
    assert name.startswith("'=") if fmt == "CSV" else name.startswith("=")


async def test_who_may_export_and_filters_checked(
    api: Api, factory: Factory, registry: dict[str, Any]
) -> None:
    owner, pejabat = registry["owner"], await factory.account("PEJABAT")
    data = {"input": {"kind": "UMKM_REGISTRY"}}
    assert (await api(START, data)).error_codes == ["UNAUTHENTICATED"]
    assert (await api.as_(owner.token)(START, data)).error_codes == ["FORBIDDEN"]
    refused = await api.as_(pejabat.token)(
        START,
        {
            "input": {
                "kind": "SECTOR_STATS",
                "filter": {"provinsi": "Bali", "tahunFrom": 2025, "tahunTo": 2024},
            }
        },
    )
    errors = refused.ok()["startExport"]["userErrors"]
    assert {(tuple(e["field"]), e["code"]) for e in errors} == {
        (("input", "filter", "provinsi"), "INVALID"),
        (("input", "filter", "tahunFrom"), "INVALID"),
    }
    deleted = await api.as_(pejabat.token)(
        START, {"input": {"kind": "UMKM_REGISTRY", "filter": {"includeDeleted": True}}}
    )
    assert [e["code"] for e in deleted.ok()["startExport"]["userErrors"]] == ["FORBIDDEN"]


async def test_revenue_csv_layout_with_semicolons_matches_financial_logs(
    api: Api, factory: Factory, server: LiveServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("ADMIN")
    a = await fin_umkm(factory, owner, kota=f"Kota Omzet {tag}")
    b = await fin_umkm(factory, owner, kota=f"Kota Omzet {tag}")
    months = [(a, 2022, 12, 5_000), (a, 2023, 1, 7_500_000), (a, 2023, 2, 0), (b, 2023, 6, 42)]
    for doc, tahun, bulan, omzet in months:
        await submit(api, owner.token, doc["_id"], tahun, bulan, omzet, catatan='=1+2; "ok"\nx')
    job = await export(
        api,
        staff.token,
        kind="MONTHLY_REVENUE",
        csvDelimiter="SEMICOLON",
        filter={"kota": f"Kota Omzet {tag}", "tahunFrom": 2023, "tahunTo": 2024},
    )
    answer = await download(server, job["downloadUrl"], staff.token)
    header = answer.content[3:].split(b"\r\n")[0].decode()
    assert header == ";".join(c.name for c in REVENUE_COLUMNS)
    assert header.startswith("umkmId;tahun;bulan;omzet;jumlahKaryawan;catatan")
    rows = read_csv(answer.content, ";")
    have = [{c: _csv_value(c, r[c]) for c in list(r)[:7]} for r in rows]
    want: list[dict[str, Any]] = []
    for doc in (a, b):
        got = (await api.as_(staff.token)(LOGS, {"id": str(doc["_id"])})).ok()
        logs = [n for n in got["umkm"]["financialLogs"]["nodes"] if 2023 <= n["tahun"] <= 2024]
        want += sorted(logs, key=lambda n: (n["tahun"], n["bulan"]))
    for log in want:
        log["catatan"] = "'" + log["catatan"]  # formula-looking text, quoted for spreadsheets
    assert sorted(have, key=lambda r: (r["umkmId"], r["tahun"], r["bulan"])) == sorted(
        want, key=lambda r: (r["umkmId"], r["tahun"], r["bulan"])
    )
    assert job["rowCount"] == 3


async def test_sector_and_region_aggregates_match_the_stats_queries(
    api: Api, factory: Factory, server: LiveServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    sektor, kota = f"Sektor{tag}", f"Kota Agregat {tag}"
    owner, staff = await factory.account("UMKM_OWNER"), await factory.account("PEJABAT")
    for omzet in (1_000, 2_500):
        doc = await fin_umkm(factory, owner, sektor=sektor, kota=kota)
        for bulan in (1, 2):
            await submit(api, owner.token, doc["_id"], 2024, bulan, omzet * bulan)
    stats = """query($s: String, $k: String) {
      sectorStats(tahun: 2024, sektor: $s) { sektor months { tahun bulan totalOmzet jumlahUmkm } }
      regionStats(tahun: 2024, kota: $k) { kota months { tahun bulan totalOmzet jumlahUmkm } }
    }"""
    got = (await api.as_(staff.token)(stats, {"s": sektor, "k": kota})).ok()
    for kind, name_col, key, f in (
        ("SECTOR_STATS", "sektor", "sectorStats", {"sektor": sektor}),
        ("REGION_STATS", "kota", "regionStats", {"kota": kota}),
    ):
        want = [
            [entry[name_col], m["tahun"], m["bulan"], int(m["totalOmzet"]), m["jumlahUmkm"]]
            for entry in got[key]
            for m in entry["months"]
        ]
        assert len(want) == 2
        job = await export(
            api, staff.token, kind=kind, format="XLSX", filter={**f, "tahunFrom": 2024}
        )
        answer = await download(server, job["downloadUrl"], staff.token)
        rows = read_xlsx(answer.content)
        assert list(rows[0]) == [name_col, "tahun", "bulan", "totalOmzet", "jumlahUmkm"]
        assert [[r[c] for c in rows[0]] for r in rows] == want


async def test_download_link_needs_the_creator_and_expires(
    api: Api, factory: Factory, dbs: Databases, server: LiveServer, registry: dict[str, Any]
) -> None:
    staff, other = await factory.account("PEJABAT"), await factory.account("ADMIN")
    job = await export(api, staff.token, kind="UMKM_REGISTRY", filter={"kota": registry["kota"]})
    url = job["downloadUrl"]
    assert (await download(server, url, None)).status_code == 401
    assert (await download(server, url, other.token)).status_code == 403
    # Another account cannot read the job either.
    assert (await api.as_(other.token)(JOB, {"id": job["id"]})).ok()["exportJob"] is None
    token = path_of(url).rsplit("/", 1)[1]
    # One character of the signature changed, and not its last: in base64 the last character
    # of a 20-byte HMAC carries 4 bits, so writing "xx" over the last two (as this did) left
    # the link valid when they were already "x" and one of "uvwx" (a flake once in ~1,000 runs).
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert (await download(server, url.replace(token, forged), staff.token)).status_code == 404

    # A link signed long ago (its own clock): expired.
    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - server.settings.export_url_ttl_s - 60

    old = URLSafeTimedSerializer(server.settings.secret_key, salt=_SALT, signer=Old).dumps(
        {"j": job["id"], "u": str(staff.id)}
    )
    assert (await download(server, f"/exports/{old}", staff.token)).status_code == 410
    assert (await download(server, url, staff.token)).status_code == 200

    # Past the retention: refused, gone from the API, and clean-exports deletes job and file.
    job_id = uuid.UUID(job["id"])
    stored = await export_jobs.find(dbs.mongo, job_id)
    assert stored is not None and await export_files.exists(dbs.mongo, stored["file_id"])
    past = export_jobs.now_utc() - timedelta(seconds=1)
    await dbs.mongo[export_jobs.COLLECTION].update_one(
        {"_id": job_id}, {"$set": {"expires_at": past}}
    )
    assert (await download(server, url, staff.token)).status_code == 410
    assert (await api.as_(staff.token)(JOB, {"id": job["id"]})).ok()["exportJob"] is None
    report = await clean_exports(dbs)
    assert report.jobs_deleted >= 1 and report.files_deleted >= 1
    assert await export_jobs.find(dbs.mongo, job_id) is None
    assert not await export_files.exists(dbs.mongo, stored["file_id"])


async def test_running_jobs_per_user_are_limited(
    api: Api, factory: Factory, dbs: Databases, server_factory: Callable[..., LiveServer]
) -> None:
    """A job held by a process that is alive (its lease is fresh) keeps its slot; with a limit
    of 1 the next start is refused, and once it ended the slot is taken again."""
    limited = server_factory(export_max_running_per_user=1)
    staff = await factory.account("PEJABAT")
    held = running_job(
        staff.id,
        lease_owner="another-process",
        lease_until=export_jobs.now_utc() + timedelta(hours=1),
        attempts=1,
    )
    assert await export_jobs.take_slot(dbs.mongo, staff.id, held["_id"], 1)
    await export_jobs.insert(dbs.mongo, held)
    data = {"input": {"kind": "SECTOR_STATS", "filter": {"tahunFrom": 2024}}}
    refused = (await Api(limited).as_(staff.token)(START, data)).ok()["startExport"]
    assert [e["code"] for e in refused["userErrors"]] == ["RATE_LIMITED"]
    assert refused["job"] is None
    # The holder died without releasing its slot and its job ended (taken over and failed):
    # the slot is free again.
    await export_jobs.fail(dbs.mongo, held["_id"], None, "test")
    started = (await Api(limited).as_(staff.token)(START, data)).ok()["startExport"]
    assert started["userErrors"] == [] and started["job"]["status"] == "QUEUED"
    done = await finished(Api(limited), staff.token, started["job"]["id"])
    assert done["status"] == "SUCCEEDED"


async def test_gridfs_on_the_mongo_stand_in(dbs: Databases) -> None:
    """What the exports need of GridFS, on the server the tests run (mongo-java-server without
    Docker): a multi-chunk upload with a chosen id, a streamed read, delete, exists."""
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4 bytes: 5 chunks
    file_id, job_id = uuid.uuid4(), uuid.uuid4()
    size = await export_files.upload(
        dbs.mongo,
        file_id,
        "t.bin",
        io.BytesIO(data),
        job_id=job_id,
        content_type="application/octet-stream",
        expires_at=export_jobs.now_utc(),
    )
    assert size == len(data)
    assert await export_files.exists(dbs.mongo, file_id)
    back = b"".join([chunk async for chunk in export_files.stream(dbs.mongo, file_id)])
    assert back == data
    assert (file_id, job_id) in await export_files.file_jobs(dbs.mongo, limit=100_000)
    assert await export_files.delete(dbs.mongo, file_id)
    assert not await export_files.exists(dbs.mongo, file_id)
    assert file_id not in await export_files.chunk_file_ids(dbs.mongo, limit=100_000)


async def test_subscription_follows_the_job_and_only_its_creator(
    api: Api, factory: Factory, server: LiveServer, registry: dict[str, Any]
) -> None:
    staff, other = await factory.account("ADMIN"), await factory.account("ADMIN")
    job = await start(api, staff.token, kind="UMKM_REGISTRY", filter={"kota": registry["kota"]})
    query = (
        f'subscription {{ exportJobUpdated(id: "{job["id"]}") '
        "{ id status rowCount progress downloadUrl } }"
    )
    messages = await subscription(server, staff.token, query, 100)
    assert messages[-1]["type"] == "complete", messages
    seen = [m["payload"]["data"]["exportJobUpdated"] for m in messages if m["type"] == "next"]
    assert seen[-1]["status"] == "SUCCEEDED" and seen[-1]["downloadUrl"], seen
    assert seen[-1]["rowCount"] == len(registry["ids"]) and seen[-1]["progress"] == 1.0
    assert [s["status"] for s in seen[:-1]] == ["QUEUED", "RUNNING"][: len(seen) - 1] or all(
        s["status"] in ("QUEUED", "RUNNING") for s in seen[:-1]
    )
    refused = await subscription(server, other.token, query, 1)
    payload = refused[0]["payload"]
    errors = payload if refused[0]["type"] == "error" else payload["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND", refused


ROUND_TRIP_STATS = """query($s: String, $k: String) {
  sectorStats(tahun: 2024, sektor: $s) { sektor months { tahun bulan totalOmzet jumlahUmkm } }
  regionStats(tahun: 2024, kota: $k) { kota months { tahun bulan totalOmzet jumlahUmkm } }
}"""
DELETE_LOG = """mutation($u: ID!, $t: Int!, $b: Int!) {
  deleteFinancialLog(umkmId: $u, tahun: $t, bulan: $b) { ok userErrors { code } }
}"""


async def test_revenue_export_imports_back_with_identical_aggregates(
    api: Api, factory: Factory, server: LiveServer
) -> None:
    """Issue 18: export then re-import gives identical aggregates. The months are deleted in
    between, so the import has to write every one of them back from the exported file; a
    formula-looking note makes the CSV's protective apostrophe go there and back."""
    tag = uuid.uuid4().hex[:8]
    sektor, kota = f"SektorRT{tag}", f"Kota RT {tag}"
    owner, admin = await factory.account("UMKM_OWNER"), await factory.account("ADMIN")
    docs = [await fin_umkm(factory, owner, sektor=sektor, kota=kota) for _ in range(2)]
    months = [(docs[0], 1, 1_250_000), (docs[0], 2, 0), (docs[0], 7, 99), (docs[1], 1, 3_000_000)]
    for doc, bulan, omzet in months:
        note = "=SUM(A1); catatan" if bulan == 1 else None
        await submit(api, owner.token, doc["_id"], 2024, bulan, omzet, catatan=note)
    as_admin = api.as_(admin.token)

    async def stats() -> dict[str, Any]:
        answer: dict[str, Any] = (await as_admin(ROUND_TRIP_STATS, {"s": sektor, "k": kota})).ok()
        return answer

    async def logs() -> list[dict[str, Any]]:
        return [
            (await as_admin(LOGS, {"id": str(d["_id"])})).ok()["umkm"]["financialLogs"]["nodes"]
            for d in docs
        ]

    before, logs_before = await stats(), await logs()
    assert before["sectorStats"] and before["regionStats"]
    job = await export(
        api, admin.token, kind="MONTHLY_REVENUE", csvDelimiter="SEMICOLON", filter={"kota": kota}
    )
    exported = (await download(server, job["downloadUrl"], admin.token)).content
    for doc, bulan, _ in months:
        gone = (await as_admin(DELETE_LOG, {"u": str(doc["_id"]), "t": 2024, "b": bulan})).ok()
        assert gone["deleteFinancialLog"] == {"ok": True, "userErrors": []}
    assert await stats() != before

    bearer = {"Authorization": f"Bearer {admin.token}"}
    back = payload(await upload(server, exported, "omzet.csv", headers=bearer))
    assert (back["rows"], back["imported"], back["unchanged"]) == (4, 4, 0)
    assert back["rejected"] == [] and back["userErrors"] == []
    assert await stats() == before
    assert await logs() == logs_before

    # The XLSX export of the same months is what is stored: importing it changes nothing.
    job = await export(
        api, admin.token, kind="MONTHLY_REVENUE", format="XLSX", filter={"kota": kota}
    )
    sheet = (await download(server, job["downloadUrl"], admin.token)).content
    again = payload(await upload(server, sheet, "omzet.xlsx", headers=bearer))
    assert (again["rows"], again["imported"], again["unchanged"]) == (4, 0, 4)
    assert await stats() == before
