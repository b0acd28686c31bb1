"""Writes financial data for analytics tests through the real write paths, and recomputes every
figure by brute force.

`Ledger.put` is the financial domain's write (db.writes.financial.submit, what
submitFinancialLog calls after validation; flags through db.writes.financial.flag), so the
aggregates, quarter totals and summary_terakhir are maintained by the production code.
Status changes go through the GraphQL mutations (`Ledger.mutate`) or, where a test needs a
state no mutation reaches directly, through the same hook the mutations call
(aggregates.on_umkm_changed).

`BruteForce` reads the raw tables in full (fine in a test keyspace) and recomputes each figure
without the aggregates.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from db.drivers.handles import Databases
from db.drivers.mongo import MongoDoc
from db.writes import aggregates
from db.writes import financial as financial_writes
from sigma_graphql.analytics.periods import month_index
from sigma_graphql.core.pubsub import PubSub
from tests.support import Api


def counted(doc: MongoDoc) -> bool:
    return doc["legalitas"]["status_verifikasi"] == "VERIFIED" and not doc.get("is_deleted")


class Ledger:
    def __init__(self, dbs: Databases) -> None:
        self.dbs = dbs
        self.pubsub = PubSub()

    async def put(
        self, doc: MongoDoc, tahun: int, bulan: int, omzet: int, *, flagged: bool = False
    ) -> None:
        """Submits (or re-submits) one month of a VERIFIED UMKM, optionally flags it."""
        await financial_writes.submit(
            self.dbs,
            doc,
            tahun=tahun,
            bulan=bulan,
            omzet=omzet,
            jumlah_karyawan=3,
            catatan=None,
            by=doc.get("owner_id"),
        )
        if flagged:
            outcome, _ = await financial_writes.flag(
                self.dbs,
                self.pubsub,
                doc,
                tahun=tahun,
                bulan=bulan,
                reason="Omzet tidak wajar dibanding bulan lalu",
                by=None,
                by_name="Pejabat Uji",
            )
            assert outcome == "ok", outcome

    async def refresh(self, doc: MongoDoc) -> MongoDoc:
        fresh = await self.dbs.mongo["umkm_profiles"].find_one({"_id": doc["_id"]})
        assert fresh is not None
        doc.clear()
        doc.update(fresh)
        return doc

    async def mutate(self, api: Api, token: str, doc: MongoDoc, mutation: str, **args: Any) -> None:
        """Runs one UMKM mutation (approveUmkm, rejectUmkm, deleteUmkm...) and reloads doc."""
        params = "".join(f", {k}: ${k}" for k in args)
        decl = "".join(
            f", ${k}: " + ("UpdateUMKMInput!" if k == "input" else "String!") for k in args
        )
        resp = await api.as_(token)(
            f"mutation($id: ID!{decl}) {{ {mutation}(id: $id{params}) {{ "
            "umkm { id } userErrors { message } } }",
            {"id": str(doc["_id"]), **args},
        )
        payload = resp.ok()[mutation]
        assert not payload["userErrors"], payload
        await self.refresh(doc)

    async def set_state(self, doc: MongoDoc, status: str, deleted: bool) -> None:
        """A status no single mutation sets, through the hook every mutation calls."""
        before = dict(doc)
        await self.dbs.mongo["umkm_profiles"].update_one(
            {"_id": doc["_id"]},
            {"$set": {"legalitas.status_verifikasi": status, "is_deleted": deleted}},
        )
        await aggregates.on_umkm_changed(self.dbs, before, await self.refresh(doc))


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

    def trend(
        self, tahun: int | None, sektor: str | None = None, kota: str | None = None
    ) -> tuple[dict[Any, list[int]], dict[str, int], dict[str, int]]:
        """revenueTrend the long way: (months, total per sektor, total per kota) of the counted
        logs matching the filters."""
        months: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
        by_sector: dict[str, int] = defaultdict(int)
        by_kota: dict[str, int] = defaultdict(int)
        for doc, row in self.counted_logs():
            s, k = doc["sektor"], doc["wilayah"]["kota"]
            if tahun is not None and row["tahun"] != tahun:
                continue
            if (sektor is not None and s != sektor) or (kota is not None and k != kota):
                continue
            months[(row["tahun"], row["bulan"])][0] += row["omzet"]
            months[(row["tahun"], row["bulan"])][1] += 1
            by_sector[s] += row["omzet"]
            by_kota[k] += row["omzet"]
        return dict(months), dict(by_sector), dict(by_kota)
