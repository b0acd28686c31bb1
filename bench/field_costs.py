"""`python -m bench.field_costs`: CPU time of each expensive root field next to its static cost.

What sigma_graphql/limits/cost.py's FIELD_COSTS table is based on (issue 11, finding 8). The real
app (bench/b3.py's configuration, b3x: no public answer cache) behind httpx's ASGI transport, on the
bench data set prepared by bench.run (--database, --synthetic as there); one request at a time, each
field alone with a typical selection. Per field: process CPU time per request (the API process only:
Python, both drivers' threads; the databases are other processes), wall time, database round trips,
and the cost the server charged. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.run import add_dataset_args, bench_env, prepare_data

MONTH_FIELDS = "bulan totalOmzet jumlahUmkm"
MONTH = f"months {{ {MONTH_FIELDS} }}"
UMKM = "id namaUsaha sektor wilayah { kota provinsi }"
LOG = "umkmId tahun bulan omzet isFlagged"
TREND = f"totalOmzet byMonth {{ {MONTH_FIELDS} }} bySector {{ name totalOmzet }} byKota {{ name }}"
OFFICIAL = "totalUmkm verifiedUmkm pendingVerifications flaggedThisYear totalOmzetLastMonth"
NEAR = "latitude: -6.2, longitude: 106.8, radiusKm: 50"


@dataclass(frozen=True)
class Probe:
    field: str
    audience: str
    query: str


PROBES = [
    Probe("umkms (reference)", "PUBLIC", f"umkms(first: 20) {{ nodes {{ {UMKM} }} }}"),
    Probe("publicStats", "PUBLIC", "publicStats { verifiedUmkm sectors totalOmzetLastYear }"),
    Probe("sectorStats", "PUBLIC", f"sectorStats(tahun: $Y) {{ sektor totalOmzet {MONTH} }}"),
    Probe("regionStats", "PUBLIC", f"regionStats(tahun: $Y) {{ kota totalOmzet {MONTH} }}"),
    Probe("revenueTrend(tahun)", "PUBLIC", f"revenueTrend(tahun: $Y) {{ {TREND} }}"),
    Probe("revenueTrend (all years)", "PUBLIC", f"revenueTrend {{ {TREND} }}"),
    Probe("heatmap", "PUBLIC", "heatmap(precision: 5) { geohash latitude longitude count }"),
    Probe("cityClusters", "PUBLIC", "cityClusters { kota provinsi count latitude longitude }"),
    Probe("umkmsNear", "PUBLIC", f"umkmsNear({NEAR}) {{ distanceKm umkm {{ {UMKM} }} }}"),
    Probe("officialDashboard", "PEJABAT", f"officialDashboard {{ {OFFICIAL} }}"),
    Probe(
        "officialDashboard.notReporting",
        "PEJABAT",
        f"officialDashboard {{ notReporting(first: 20) {{ totalCount nodes {{ {UMKM} }} }} }}",
    ),
    Probe(
        "topGrowers", "PEJABAT", f"topGrowers(tahun: $Y) {{ periode growthRate umkm {{ {UMKM} }} }}"
    ),
    Probe(
        "suspiciousFinancialLogs",
        "PEJABAT",
        f"suspiciousFinancialLogs(tahun: $Y) {{ score reason log {{ {LOG} }} }}",
    ),
    Probe(
        "flaggedFinancialLogs",
        "PEJABAT",
        f"flaggedFinancialLogs(tahun: $Y) {{ nodes {{ {LOG} }} }}",
    ),
    Probe("umkms (20) as staff", "PEJABAT", "umkms(first: 20) { nodes { id } }"),
    Probe(
        "umkms (20) .growth",
        "PEJABAT",
        "umkms(first: 20) { nodes { id growth { periode growthRate statusKesehatan } } }",
    ),
    Probe(
        "umkms (20) .forecast",
        "PEJABAT",
        "umkms(first: 20) { nodes { id forecast { method points { bulan predictedOmzet } } } }",
    ),
    Probe(
        "umkms (20) .financialLogs",
        "PEJABAT",
        f"umkms(first: 20) {{ nodes {{ id financialLogs {{ nodes {{ {LOG} }} }} }} }}",
    ),
    Probe("ownerDashboard", "UMKM_OWNER", f"ownerDashboard {{ totalUmkm recentLogs {{ {LOG} }} }}"),
]


async def _post(client: httpx.AsyncClient, probe: Probe, body: Any, headers: Any) -> Any:
    payload = (await client.post("/graphql", json=body, headers=headers)).json()
    if payload.get("errors"):
        raise RuntimeError(f"{probe.field}: {payload['errors']}"[:500])
    return payload


async def _measure(args: argparse.Namespace) -> str:
    env = bench_env(args)
    ids = await prepare_data(args, env)
    os.environ.update(env)
    os.environ["BENCH_VARIANT"] = "b3x"
    from bench import b3  # builds the app from the environment set above

    year = str(ids["year"])
    rows = [
        "| field | audience | CPU ms/request | wall ms | round trips | cost (points) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    transport = httpx.ASGITransport(app=b3.app)
    async with (
        b3.app.router.lifespan_context(b3.app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for probe in PROBES:
            token = ids["tokens"][probe.audience]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {"query": "{ " + probe.query.replace("$Y", year) + " }"}
            for _ in range(args.warmup):
                await _post(client, probe, body, headers)
            cpu: list[float] = []
            wall: list[float] = []
            payload: Any = None
            for _ in range(args.requests):
                c0, w0 = time.process_time(), time.perf_counter()
                payload = await _post(client, probe, body, headers)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
            ext = payload["extensions"]
            rows.append(
                f"| {probe.field} | {probe.audience} | {statistics.median(cpu) * 1000:.1f} "
                f"| {statistics.median(wall) * 1000:.1f} | {ext['dbRoundTrips']['total']} "
                f"| {ext['cost']['requested']} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    add_dataset_args(p, synthetic=2000)
    args = p.parse_args(argv)
    print(asyncio.run(_measure(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
