"""Demo and synthetic data.

`--demo`: the original's seed, reshaped: 5 accounts (ADMIN, PEJABAT, 3 owners), 10 VERIFIED UMKMs
in Malang/Surabaya/Jakarta/Bandung across Kuliner/Fashion/Jasa/Kriya, 6 months of revenue each.
`--synthetic N`: N UMKMs with 24 months each across all 38 provinces (benchmarks).
Ids are derived from names (uuid5) and every write is an upsert, so seeding twice duplicates
nothing. Log rows are written as the financial write path leaves them (the denormalised names and
the counted_* contribution of their profile, db/writes/financial.py `_write_row`) and each profile
carries its summary_terakhir, so the aggregate rebuild that follows (db/maintenance/rebuild.py)
finds rows and summaries right: it only sets the counters, quarter totals and keys, with plain
writes, instead of one lightweight transaction per row (1.2 million for 50,000 UMKMs).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase

from db import financial_logs as fl
from db import umkm_profiles, users
from db.drivers.cassandra import Cassandra, Row
from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.maintenance.rebuild import rebuild_aggregates
from db.reference import PROVINCES, SECTORS
from db.writes import aggregates
from sigma_graphql.core.passwords import hash_password
from sigma_graphql.core.settings import Settings

META = "meta"
NS = uuid.UUID("5e6d2f0c-6a3b-4c39-9a7e-1f0b2f1d9c11")


def stable_id(kind: str, name: str) -> uuid.UUID:
    return uuid.uuid5(NS, f"{kind}:{name}")


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str
    nama: str
    nik: str | None = None
    telepon: str | None = None
    wilayah: str | None = None


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin@sigma-umkm.com", "admin-sigma-2026", "ADMIN", "Admin SIGMA"),
    DemoAccount(
        "pejabat@sigma-umkm.com",
        "pejabat-sigma-2026",
        "PEJABAT",
        "Budi Santoso",
        telepon="081234567001",
        wilayah="Malang",
    ),
    DemoAccount(
        "owner@sigma-umkm.com",
        "owner-sigma-2026",
        "UMKM_OWNER",
        "Hariyanto",
        nik="3573010101800001",
        telepon="081234567101",
    ),
    DemoAccount(
        "owner2@sigma-umkm.com",
        "owner2-sigma-2026",
        "UMKM_OWNER",
        "Siti Aminah",
        nik="3573010101850002",
        telepon="081234567102",
    ),
    DemoAccount(
        "owner3@sigma-umkm.com",
        "owner3-sigma-2026",
        "UMKM_OWNER",
        "Joko Widodo",
        nik="3573010101900003",
        telepon="081234567103",
    ),
)

# nama_usaha, sektor, kota, provinsi, lat, lng, owner email, monthly base omzet (rupiah)
DEMO_UMKMS: tuple[tuple[str, str, str, str, float, float, str, int], ...] = (
    (
        "Soto Cak Har",
        "Kuliner",
        "Malang",
        "Jawa Timur",
        -7.9466,
        112.6326,
        "owner@sigma-umkm.com",
        45_000_000,
    ),
    (
        "Laundry Cepat",
        "Jasa",
        "Malang",
        "Jawa Timur",
        -7.92412,
        112.6326,
        "owner2@sigma-umkm.com",
        18_000_000,
    ),
    (
        "Rotan Indah",
        "Kriya",
        "Malang",
        "Jawa Timur",
        -7.9466,
        112.67256,
        "owner3@sigma-umkm.com",
        27_500_000,
    ),
    (
        "Batik Arjuna",
        "Fashion",
        "Malang",
        "Jawa Timur",
        -7.8800,
        112.5300,
        "owner@sigma-umkm.com",
        36_000_000,
    ),
    (
        "Rawon Setan",
        "Kuliner",
        "Surabaya",
        "Jawa Timur",
        -7.2650,
        112.7450,
        "owner@sigma-umkm.com",
        60_000_000,
    ),
    (
        "Kaos Suroboyo",
        "Fashion",
        "Surabaya",
        "Jawa Timur",
        -7.2900,
        112.7300,
        "owner2@sigma-umkm.com",
        22_000_000,
    ),
    (
        "Kerak Telor Bang Jali",
        "Kuliner",
        "Jakarta",
        "DKI Jakarta",
        -6.1750,
        106.8270,
        "owner3@sigma-umkm.com",
        15_000_000,
    ),
    (
        "Bengkel Jaya Motor",
        "Jasa",
        "Jakarta",
        "DKI Jakarta",
        -6.2250,
        106.8000,
        "owner@sigma-umkm.com",
        52_000_000,
    ),
    (
        "Kopi Braga",
        "Kuliner",
        "Bandung",
        "Jawa Barat",
        -6.9175,
        107.6090,
        "owner2@sigma-umkm.com",
        33_000_000,
    ),
    (
        "Anyaman Sunda",
        "Kriya",
        "Bandung",
        "Jawa Barat",
        -6.9000,
        107.6300,
        "owner3@sigma-umkm.com",
        12_500_000,
    ),
)


def last_complete_months(count: int, today: datetime | None = None) -> list[tuple[int, int]]:
    """(tahun, bulan) of the `count` complete months before today, oldest first."""
    now = today or datetime.now(UTC)
    year, month = now.year, now.month
    months: list[tuple[int, int]] = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append((year, month))
    return months[::-1]


LOG_COLUMNS = (
    "umkm_id", "tahun", "bulan", "omzet", "jumlah_karyawan", "catatan", "tanggal_input",
    "input_by", "nama_usaha", "sektor", "kota", "counted_omzet", "counted_sektor", "counted_kota",
    "is_flagged",
)  # fmt: skip
INSERT_COUNTED_LOG = (
    f"INSERT INTO {fl.TABLE} ({', '.join(LOG_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in LOG_COLUMNS)})"
)
# A row without counted_*, as a write bypassing the API leaves it (tests insert such rows).
INSERT_LOG = (
    "INSERT INTO umkm_financial_log (umkm_id, tahun, bulan, omzet, jumlah_karyawan, catatan, "
    "tanggal_input, input_by, nama_usaha, sektor, kota, is_flagged) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)"
)
INSERT_YEAR = "INSERT INTO umkm_log_years (umkm_id, tahun) VALUES (?, ?)"
# Partitions written at once: each is one unlogged batch (an UMKM-year, at most 12 rows).
PARTITIONS_IN_FLIGHT = 64
# UMKMs generated and written per chunk, so 50,000 UMKMs never sit in memory as 1.2 M rows.
CHUNK = 1000


def log_row(
    doc: MongoDoc, tahun: int, bulan: int, omzet: int, karyawan: int, at: datetime, by: object
) -> Row:
    """One month as `submit` stores it: the names and counted_* come from the profile
    (aggregates.denormalised, aggregates.desired), so `aggregates.sync_row` finds nothing to do."""
    return {
        "umkm_id": doc["_id"],
        "tahun": tahun,
        "bulan": bulan,
        "omzet": omzet,
        "jumlah_karyawan": karyawan,
        "catatan": None,
        "tanggal_input": at,
        "input_by": by,
        **aggregates.denormalised(doc),
        **aggregates.counted_columns(aggregates.desired(doc, omzet)),
        "is_flagged": False,
    }


def with_summary(doc: MongoDoc, rows: list[Row]) -> MongoDoc:
    """The profile with the summary_terakhir the rebuild computes from its rows."""
    newest = max(rows, key=lambda r: (r["tahun"], r["bulan"]), default=None)
    return {**doc, "summary_terakhir": aggregates.summary_of(newest)}


async def _upsert_all(db: AsyncDatabase[MongoDoc], collection: str, docs: list[MongoDoc]) -> None:
    for start in range(0, len(docs), 1000):
        chunk = docs[start : start + 1000]
        await db[collection].bulk_write(
            [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in chunk], ordered=False
        )


def _batch_cql(rows: int) -> str:
    return f"BEGIN UNLOGGED BATCH {'; '.join([INSERT_COUNTED_LOG] * rows)}; APPLY BATCH"


async def _write_logs(cass: Cassandra, rows: list[Row]) -> None:
    """Per partition (UMKM, year): its umkm_log_years row first (readers find every partition
    through it), then its months in one unlogged batch; PARTITIONS_IN_FLIGHT at a time."""
    partitions: dict[tuple[Any, int], list[Row]] = {}
    for r in rows:
        partitions.setdefault((r["umkm_id"], r["tahun"]), []).append(r)
    todo: Iterator[tuple[tuple[Any, int], list[Row]]] = iter(partitions.items())

    async def worker() -> None:
        for key, part in todo:  # one shared iterator: each partition is taken once
            await cass.execute(INSERT_YEAR, key)
            params = tuple(r[c] for r in part for c in LOG_COLUMNS)
            await cass.execute(_batch_cql(len(part)), params)

    await asyncio.gather(*(worker() for _ in range(PARTITIONS_IN_FLIGHT)))


def _account_doc(acc: DemoAccount) -> MongoDoc:
    return users.new_user_doc(
        email=acc.email,
        password_hash=hash_password(acc.password),
        role=acc.role,
        nama=acc.nama,
        nik=acc.nik,
        telepon=acc.telepon,
        wilayah=acc.wilayah,
        user_id=stable_id("user", acc.email),
    )


async def seed_demo(dbs: Databases) -> tuple[int, int, int]:
    accounts = [_account_doc(a) for a in DEMO_ACCOUNTS]
    await _upsert_all(dbs.mongo, users.COLLECTION, accounts)
    admin_id = stable_id("user", "admin@sigma-umkm.com")
    pejabat_id = stable_id("user", "pejabat@sigma-umkm.com")
    by_email = {a.email: a for a in DEMO_ACCOUNTS}
    joined = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)
    umkms: list[MongoDoc] = []
    rows: list[Row] = []
    months = last_complete_months(6)
    for i, (nama, sektor, kota, prov, lat, lng, owner_email, base) in enumerate(DEMO_UMKMS):
        owner = by_email[owner_email]
        umkm_id = stable_id("umkm", nama)
        doc = umkm_profiles.new_umkm_doc(
            nama_usaha=nama,
            sektor=sektor,
            kota=kota,
            provinsi=prov,
            pemilik={
                "nama": owner.nama,
                "nik": owner.nik,
                "telepon": owner.telepon,
                "email": owner.email,
            },
            owner_id=stable_id("user", owner_email),
            status="VERIFIED",
            alamat_lengkap=f"Jl. Demo No. {i + 1}, {kota}",
            latitude=lat,
            longitude=lng,
            legalitas={
                "nib": f"91200{i:08d}",
                "pirt": None,
                "halal": sektor == "Kuliner",
                "dokumen_url": f"https://dokumen.sigma-umkm.local/{i + 1}.pdf",
            },
            umkm_id=umkm_id,
            created_at=joined + timedelta(days=i),
            verified_by=pejabat_id,
        )
        mine = [
            log_row(
                doc,
                tahun,
                bulan,
                base + base * ((j * 7 + i * 3) % 11 - 5) // 50,
                3 + i % 5,
                datetime(tahun, bulan, 28, 10, 0, tzinfo=UTC),
                stable_id("user", owner_email),
            )
            for j, (tahun, bulan) in enumerate(months)
        ]
        umkms.append(with_summary(doc, mine))
        rows.extend(mine)
    del admin_id
    await _upsert_all(dbs.mongo, umkm_profiles.COLLECTION, umkms)
    await _write_logs(dbs.cassandra, rows)
    return len(accounts), len(umkms), len(rows)


# Realistic sector mix (share of UMKMs): food and trade dominate Indonesia's micro businesses.
SECTOR_WEIGHTS = (30, 14, 8, 12, 10, 16, 6, 4)


async def seed_synthetic(dbs: Databases, count: int, seed: int = 7) -> tuple[int, int, int]:
    """Written CHUNK UMKMs at a time (profiles, then their owners, then their logs); the values
    depend only on `count` and `seed`, not on the chunking."""
    rng = random.Random(seed)
    owner_hash = hash_password("synthetic-owner-2026")
    months = last_complete_months(24)
    totals = [0, 0, 0]
    owner: MongoDoc = {}
    for first in range(0, count, CHUNK):
        owners: list[MongoDoc] = []
        umkms: list[MongoDoc] = []
        rows: list[Row] = []
        for i in range(first, min(first + CHUNK, count)):
            if i % 5 == 0:
                owner = _synthetic_owner(i // 5, owner_hash)
                owners.append(owner)
            doc, mine = _synthetic_umkm(rng, i, owner, months)
            umkms.append(doc)
            rows.extend(mine)
        await _upsert_all(dbs.mongo, users.COLLECTION, owners)
        await _upsert_all(dbs.mongo, umkm_profiles.COLLECTION, umkms)
        await _write_logs(dbs.cassandra, rows)
        totals = [totals[0] + len(owners), totals[1] + len(umkms), totals[2] + len(rows)]
    return totals[0], totals[1], totals[2]


def _synthetic_owner(n: int, password_hash: str) -> MongoDoc:
    email = f"owner{n:06d}@synthetic.sigma-umkm.local"
    return users.new_user_doc(
        email=email,
        password_hash=password_hash,
        role="UMKM_OWNER",
        nama=f"Pemilik Sintetis {n}",
        nik=f"{3500000000000000 + n:016d}",
        telepon=f"08{1200000000 + n:010d}",
        user_id=stable_id("user", email),
    )


def _synthetic_umkm(
    rng: random.Random, i: int, owner: MongoDoc, months: list[tuple[int, int]]
) -> tuple[MongoDoc, list[Row]]:
    """UMKM number i and its months; draws from `rng` in a fixed order (reproducible data)."""
    provinces = list(PROVINCES.items())
    prov, (capital, lat0, lng0) = provinces[i % len(provinces)]
    sektor = rng.choices(SECTORS, SECTOR_WEIGHTS)[0]
    lat = lat0 + rng.uniform(-0.3, 0.3)
    lng = lng0 + rng.uniform(-0.3, 0.3)
    nama = f"{sektor} {capital} {i:06d}"
    doc = umkm_profiles.new_umkm_doc(
        nama_usaha=nama,
        sektor=sektor,
        kota=capital,
        provinsi=prov,
        pemilik={
            "nama": owner["nama"],
            "nik": owner.get("nik"),
            "telepon": owner["telepon"],
            "email": owner["email"],
        },
        owner_id=owner["_id"],
        status="VERIFIED",
        alamat_lengkap=f"Jl. Sintetis {i}",
        latitude=lat,
        longitude=lng,
        umkm_id=stable_id("umkm-synthetic", str(i)),
        created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
    )
    base = int(rng.lognormvariate(17, 0.8))  # median about 24 million rupiah
    growth = rng.uniform(-0.01, 0.03)
    rows = []
    for j, (tahun, bulan) in enumerate(months):
        season = 1.35 if bulan in (3, 4) else 1.2 if bulan == 12 else 1.0
        omzet = max(0, int(base * (1 + growth) ** j * season * rng.uniform(0.85, 1.15)))
        at = datetime(tahun, bulan, 28, tzinfo=UTC)
        rows.append(log_row(doc, tahun, bulan, omzet, rng.randint(1, 30), at, owner["_id"]))
    return with_summary(doc, rows), rows


async def rebuild_derived(dbs: Databases) -> str:
    """Recomputes aggregates and summaries from what was just written."""
    report = await rebuild_aggregates(dbs)
    return str(report)


async def run_seed(settings: Settings, *, demo: bool, synthetic: int, if_empty: bool) -> int:
    dbs = Databases.open(settings)
    try:
        if if_empty and await dbs.mongo[META].find_one({"_id": "seed"}):
            print("seed: database was seeded already; nothing to do (--if-empty)")
            return 0
        if not demo and not synthetic:
            print("seed: nothing asked for (use --demo and/or --synthetic N)")
            return 2
        if demo:
            n_users, n_umkm, n_logs = await seed_demo(dbs)
            print(f"seed: demo data: {n_users} accounts, {n_umkm} UMKMs, {n_logs} monthly logs")
            print("seed: demo accounts (email / password):")
            for acc in DEMO_ACCOUNTS:
                print(f"  {acc.role:<10} {acc.email:<24} {acc.password}")
        if synthetic:
            n_users, n_umkm, n_logs = await seed_synthetic(dbs, synthetic)
            print(f"seed: synthetic: {n_users} owners, {n_umkm} UMKMs, {n_logs} monthly logs")
        print(f"seed: {await rebuild_derived(dbs)}")
        # Written last: a seed that died halfway is completed by the next `--if-empty` run.
        await dbs.mongo[META].replace_one(
            {"_id": "seed"}, {"_id": "seed", "demo": demo, "synthetic": synthetic}, upsert=True
        )
        return 0
    finally:
        await dbs.close()
