"""Writes financial data for analytics tests and recomputes every figure by brute force.

Until the financial branch's write path (submitFinancialLog) is merged, `Ledger.put` writes what
it would write: the raw log row, umkm_log_years, summary_terakhir on the profile, and, for
VERIFIED, not deleted UMKMs, the aggregate deltas (sector/region counters, dashboard_keys,
quarter totals) with the same idempotent rule (a re-submitted month moves the counters by the
difference and does not count the UMKM twice).

`BruteForce` reads the raw tables in full (fine in a test keyspace) and recomputes each figure
without the aggregates.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from db.handles import Databases
from db.mongo import MongoDoc
from sigma_graphql.analytics.periods import month_index, quarter_of

INSERT_LOG = (
    "INSERT INTO umkm_financial_log (umkm_id, tahun, bulan, omzet, jumlah_karyawan, catatan, "
    "tanggal_input, input_by, nama_usaha, sektor, kota, is_flagged, flag_reason, flagged_by, "
    "flagged_by_name, flagged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def counted(doc: MongoDoc) -> bool:
    return doc["legalitas"]["status_verifikasi"] == "VERIFIED" and not doc.get("is_deleted")


class Ledger:
    def __init__(self, dbs: Databases) -> None:
        self.dbs = dbs
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)

    async def put(
        self,
        doc: MongoDoc,
        tahun: int,
        bulan: int,
        omzet: int,
        *,
        flagged: bool = False,
        entered: datetime | None = None,
    ) -> None:
        cass = self.dbs.cassandra
        umkm_id: uuid.UUID = doc["_id"]
        old = await cass.execute(
            "SELECT omzet FROM umkm_financial_log WHERE umkm_id = ? AND tahun = ? AND bulan = ?",
            (umkm_id, tahun, bulan),
        )
        self.clock += timedelta(minutes=1)
        now = entered or self.clock
        await cass.execute(
            INSERT_LOG,
            (
                umkm_id, tahun, bulan, omzet, 3, None, now, doc.get("owner_id"),
                doc["nama_usaha"], doc["sektor"], doc["wilayah"]["kota"], flagged,
                "Omzet tidak wajar dibanding bulan lalu" if flagged else None,
                None, "Pejabat Uji" if flagged else None, now if flagged else None,
            ),
        )  # fmt: skip
        await cass.execute(
            "INSERT INTO umkm_log_years (umkm_id, tahun) VALUES (?, ?)", (umkm_id, tahun)
        )
        if flagged:
            await cass.execute(
                "INSERT INTO flagged_logs (tahun, flagged_at, umkm_id, bulan) VALUES (?, ?, ?, ?)",
                (tahun, now, umkm_id, bulan),
            )
        summary = doc.get("summary_terakhir")
        if summary is None or (summary["tahun"], summary["bulan"]) <= (tahun, bulan):
            doc["summary_terakhir"] = {"tahun": tahun, "bulan": bulan, "omzet": omzet}
            await self.dbs.mongo["umkm_profiles"].update_one(
                {"_id": umkm_id}, {"$set": {"summary_terakhir": doc["summary_terakhir"]}}
            )
        if not counted(doc):
            return
        delta = omzet - (old[0]["omzet"] if old else 0)
        new = 0 if old else 1
        sektor, kota = doc["sektor"], doc["wilayah"]["kota"]
        await cass.execute(
            "UPDATE dashboard_sector_stats SET total_omzet = total_omzet + ?, "
            "total_umkm = total_umkm + ? WHERE sektor = ? AND tahun = ? AND bulan = ?",
            (delta, new, sektor, tahun, bulan),
        )
        await cass.execute(
            "UPDATE dashboard_region_stats SET total_omzet = total_omzet + ?, "
            "umkm_aktif = umkm_aktif + ? WHERE kota = ? AND tahun = ? AND bulan = ?",
            (delta, new, kota, tahun, bulan),
        )
        await cass.execute(
            "UPDATE umkm_quarter_totals SET total_omzet = total_omzet + ?, months = months + ? "
            "WHERE tahun = ? AND quarter = ? AND bucket = ? AND umkm_id = ?",
            (delta, new, tahun, quarter_of(bulan), umkm_id.int % 16, umkm_id),
        )
        for dimension, name in (("sektor", sektor), ("kota", kota)):
            await cass.execute(
                "INSERT INTO dashboard_keys (dimension, tahun, name) VALUES (?, ?, ?)",
                (dimension, tahun, name),
            )


@dataclass
class BruteForce:
    docs: dict[uuid.UUID, MongoDoc]
    logs: list[dict[str, Any]]

    @classmethod
    async def load(cls, dbs: Databases) -> BruteForce:
        docs = {d["_id"]: d async for d in dbs.mongo["umkm_profiles"].find({})}
        logs = await dbs.cassandra.execute(
            "SELECT umkm_id, tahun, bulan, omzet, is_flagged, tanggal_input FROM umkm_financial_log"
        )
        return cls(docs, logs)

    def counted_logs(self) -> list[tuple[MongoDoc, dict[str, Any]]]:
        out = []
        for row in self.logs:
            doc = self.docs.get(row["umkm_id"])
            if doc is not None and counted(doc):
                out.append((doc, row))
        return out

    def by_dimension(self, dimension: str, tahun: int | None) -> dict[str, dict[Any, list[int]]]:
        """{name: {(tahun, bulan): [omzet, umkm count]}} for counted UMKMs."""
        out: dict[str, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        for doc, row in self.counted_logs():
            if tahun is not None and row["tahun"] != tahun:
                continue
            name = doc["sektor"] if dimension == "sektor" else doc["wilayah"]["kota"]
            cell = out[name][(row["tahun"], row["bulan"])]
            cell[0] += row["omzet"]
            cell[1] += 1
        return out

    def months(self, tahun: int | None, owner: uuid.UUID | None = None) -> dict[Any, list[int]]:
        out: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        if owner is None:
            rows = self.counted_logs()
        else:
            rows = [
                (self.docs[r["umkm_id"]], r)
                for r in self.logs
                if self.docs[r["umkm_id"]].get("owner_id") == owner
                and not self.docs[r["umkm_id"]].get("is_deleted")
            ]
        for _, row in rows:
            if tahun is None or row["tahun"] == tahun:
                out[(row["tahun"], row["bulan"])][0] += row["omzet"]
                out[(row["tahun"], row["bulan"])][1] += 1
        return out

    def umkm_months(self, umkm_id: uuid.UUID) -> list[tuple[int, int, int]]:
        return sorted(
            (r["tahun"], r["bulan"], r["omzet"]) for r in self.logs if r["umkm_id"] == umkm_id
        )

    def quarter_growth(self, umkm_id: uuid.UUID) -> dict[int, tuple[int, float | None]]:
        """{quarter index: (total, growth %)} computed the long way (calendar quarters)."""
        totals: dict[int, int] = defaultdict(int)
        for tahun, bulan, omzet in self.umkm_months(umkm_id):
            totals[tahun * 4 + (bulan - 1) // 3] += omzet
        out = {}
        for q, total in totals.items():
            prev = totals.get(q - 1)
            rate = round((total - prev) / prev * 100, 1) if prev else None
            out[q] = (total, rate)
        return out

    def not_reporting(self, since: tuple[int, int]) -> set[uuid.UUID]:
        latest: dict[uuid.UUID, int] = {}
        for r in self.logs:
            idx = month_index(r["tahun"], r["bulan"])
            latest[r["umkm_id"]] = max(latest.get(r["umkm_id"], -1), idx)
        cutoff = month_index(*since)
        return {i for i, d in self.docs.items() if counted(d) and latest.get(i, -1) < cutoff}
