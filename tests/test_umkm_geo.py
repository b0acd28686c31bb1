"""Geo search (geohash cells + exact haversine) checked against brute force over all rows."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from typing import Any

import pytest

from db import geohash, sessions, umkm_profiles
from db.drivers.handles import Databases
from db.geosearch import covering_cells, haversine_km
from db.maintenance.seed import seed_demo, stable_id
from tests.support import Api, Factory
from tests.umkm_support import insert_umkm

NEAR = """query($lat: Float!, $lng: Float!, $r: Float, $sektor: String, $first: Int) {
  umkmsNear(latitude: $lat, longitude: $lng, radiusKm: $r, sektor: $sektor, first: $first) {
    distanceKm umkm { id namaUsaha sektor lokasi { latitude longitude } pemilik { nama } } } }"""
BOX = """query($filter: UMKMFilter, $after: String) { umkms(filter: $filter, first: 100,
  after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }"""
HEAT = """query($p: Int, $filter: UMKMFilter) { heatmap(precision: $p, filter: $filter) {
  geohash latitude longitude count } }"""
CLUSTERS = """query($filter: UMKMFilter) { cityClusters(filter: $filter) {
  kota provinsi count latitude longitude } }"""

CENTER = (-7.95, 112.63)


@pytest.fixture(scope="module")
async def geo_rows(dbs: Databases) -> None:
    """Demo data plus random rows of every status around Malang (some deleted, some unlocated)."""
    await seed_demo(dbs)
    rng = random.Random(20261123)
    for _ in range(120):
        located = rng.random() > 0.1
        await insert_umkm(
            dbs,
            status=rng.choice(["VERIFIED", "VERIFIED", "VERIFIED", "PENDING", "REJECTED"]),
            sektor=rng.choice(["Kuliner", "Jasa", "Kriya"]),
            kota=rng.choice(["Malang", "Batu", "Kab. Malang"]),
            latitude=CENTER[0] + rng.uniform(-0.45, 0.45) if located else None,
            longitude=CENTER[1] + rng.uniform(-0.45, 0.45) if located else None,
            deleted=rng.random() < 0.1,
        )


async def _public_rows(dbs: Databases) -> list[dict[str, Any]]:
    query = {"legalitas.status_verifikasi": "VERIFIED", "is_deleted": False}
    return [d async for d in dbs.mongo[umkm_profiles.COLLECTION].find(query)]


def _brute_near(
    rows: list[dict[str, Any]], lat: float, lng: float, r: float, sektor: str | None
) -> list[tuple[str, float]]:
    hits = []
    for d in rows:
        if d.get("lokasi") is None or (sektor and d["sektor"] != sektor):
            continue
        dlng, dlat = d["lokasi"]["coordinates"]
        dist = haversine_km(lat, lng, dlat, dlng)
        if dist <= r:
            hits.append((str(d["_id"]), dist))
    return sorted(hits, key=lambda h: (h[1], h[0]))


async def test_demo_neighbours_of_soto_cak_har(api: Api, dbs: Databases, geo_rows: None) -> None:
    # The demo owner of "Soto Cak Har" searches around the shop. Other tests put many Kuliner
    # UMKMs near Malang, so look per sector (the demo neighbours are Jasa and Kriya).
    token, _ = await sessions.create(dbs.mongo, stable_id("user", "owner@sigma-umkm.com"), 3600)
    soto = (-7.9466, 112.6326)
    found: dict[str, float] = {}
    for sektor in ("Jasa", "Kriya"):
        variables = {"lat": soto[0], "lng": soto[1], "r": 5, "sektor": sektor, "first": 100}
        resp = (await api.as_(token)(NEAR, variables)).ok()["umkmsNear"]
        distances = [h["distanceKm"] for h in resp]
        assert distances == sorted(distances) and all(d <= 5 for d in distances)
        assert {h["umkm"]["sektor"] for h in resp} == {sektor}
        found.update({h["umkm"]["namaUsaha"]: h["distanceKm"] for h in resp})
        # another owner's UMKM: nothing private for this owner
        assert all(h["umkm"]["pemilik"] is None for h in resp)
    assert found["Laundry Cepat"] == pytest.approx(2.5, abs=0.05)
    assert found["Rotan Indah"] == pytest.approx(4.4, abs=0.05)
    assert "Anyaman Sunda" not in found  # Kriya, but in Bandung
    own = (await api.as_(token)(NEAR, {"lat": soto[0], "lng": soto[1], "r": 0.01})).ok()
    assert [h["umkm"]["namaUsaha"] for h in own["umkmsNear"]] == ["Soto Cak Har"]
    assert own["umkmsNear"][0]["distanceKm"] == pytest.approx(0, abs=1e-9)
    assert own["umkmsNear"][0]["umkm"]["pemilik"] == {"nama": "Hariyanto"}


@pytest.mark.parametrize(
    ("lat", "lng", "radius", "sektor", "first"),
    [
        (-7.95, 112.63, 5.0, None, 100),
        (-7.80, 112.50, 12.5, None, 100),
        (-8.10, 112.90, 30.0, "Jasa", 100),
        (-7.95, 112.63, 50.0, None, 100),
        (-7.93, 112.60, 0.8, None, 100),
        (-6.20, 106.82, 10.0, None, 100),
        (-7.95, 112.63, 50.0, None, 3),
        (-8.20, 112.40, 50.0, "Kriya", 7),
        (-7.70, 112.90, 20.0, None, 1),
    ],
)
async def test_near_matches_brute_force(
    api: Api,
    dbs: Databases,
    geo_rows: None,
    lat: float,
    lng: float,
    radius: float,
    sektor: Any,
    first: int,
) -> None:
    variables = {"lat": lat, "lng": lng, "r": radius, "sektor": sektor, "first": first}
    got = (await api.as_(None)(NEAR, variables)).ok()["umkmsNear"]
    expected = _brute_near(await _public_rows(dbs), lat, lng, radius, sektor)[:first]
    assert [h["umkm"]["id"] for h in got] == [e[0] for e in expected]
    for hit, (_, dist) in zip(got, expected, strict=True):
        assert hit["distanceKm"] == pytest.approx(dist, abs=1e-9)


async def test_near_arguments(api: Api) -> None:
    for bad in ({"r": 0}, {"r": -1}, {"r": 50.01}, {"lat": 91}, {"lng": 200}, {"first": 0}):
        variables = {"lat": -7.9, "lng": 112.6, **bad}
        assert (await api.as_(None)(NEAR, variables)).error_codes == ["BAD_USER_INPUT"]
    # the default radius is 5 km
    assert (await api.as_(None)(NEAR, {"lat": -7.9, "lng": 112.6})).errors == []


async def test_near_shows_private_fields_to_the_owner(
    api: Api, factory: Factory, dbs: Databases
) -> None:
    owner = await factory.account("UMKM_OWNER")
    doc = await insert_umkm(dbs, owner_id=owner.id, latitude=-0.5, longitude=117.15)
    resp = (await api.as_(owner.token)(NEAR, {"lat": -0.5, "lng": 117.15, "r": 1})).ok()
    mine = [h for h in resp["umkmsNear"] if h["umkm"]["id"] == str(doc["_id"])]
    assert mine and mine[0]["umkm"]["pemilik"] == {"nama": "Pemilik"}


@pytest.mark.parametrize(
    "box",
    [
        {"south": -8.0, "west": 112.55, "north": -7.9, "east": 112.7},
        {"south": -8.5, "west": 112.0, "north": -7.4, "east": 113.2},
        {"south": -7.951, "west": 112.6, "north": -7.949, "east": 112.66},
        {"south": -11.0, "west": 95.0, "north": 6.0, "east": 141.0},
    ],
)
async def test_bbox_filter_matches_brute_force(
    api: Api, dbs: Databases, geo_rows: None, box: dict[str, float]
) -> None:
    ids: list[str] = []
    after = None
    while True:
        page = (await api.as_(None)(BOX, {"filter": {"bbox": box}, "after": after})).ok()["umkms"]
        ids.extend(n["id"] for n in page["nodes"])
        total = page["totalCount"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = set()
    for d in await _public_rows(dbs):
        if d.get("lokasi") is None:
            continue
        lng, lat = d["lokasi"]["coordinates"]
        if box["south"] <= lat <= box["north"] and box["west"] <= lng <= box["east"]:
            expected.add(str(d["_id"]))
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == expected


async def test_bbox_is_validated(api: Api) -> None:
    box = {"south": -7.0, "west": 112.0, "north": -8.0, "east": 113.0}
    assert (await api.as_(None)(BOX, {"filter": {"bbox": box}})).error_codes == ["BAD_USER_INPUT"]


def test_covering_cells_cover_the_box() -> None:
    rng = random.Random(5)
    for _ in range(300):
        south, west = rng.uniform(-11, 5), rng.uniform(95, 140)
        box = (south, west, south + rng.uniform(0, 1), west + rng.uniform(0, 1))
        cells = covering_cells(box)
        assert cells is not None and len(cells) <= 16
        for _ in range(20):
            lat, lng = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
            assert any(geohash.encode(lat, lng).startswith(c) for c in cells)


@pytest.mark.parametrize("precision", [3, 5, 7])
async def test_heatmap_matches_brute_force(
    api: Api, dbs: Databases, geo_rows: None, precision: int
) -> None:
    got = (await api.as_(None)(HEAT, {"p": precision})).ok()["heatmap"]
    expected: dict[str, int] = defaultdict(int)
    for d in await _public_rows(dbs):
        if d.get("geohash"):
            expected[d["geohash"][:precision]] += 1
    assert {c["geohash"]: c["count"] for c in got} == expected
    for cell in got:
        lat, lng = geohash.center(cell["geohash"])
        assert (cell["latitude"], cell["longitude"]) == pytest.approx((lat, lng))
    counts = [c["count"] for c in got]
    assert counts == sorted(counts, reverse=True)
    kuliner = (await api.as_(None)(HEAT, {"p": 3, "filter": {"sektor": "kuliner"}})).ok()
    expected_kuliner = sum(
        1 for d in await _public_rows(dbs) if d.get("geohash") and d["sektor"] == "Kuliner"
    )
    assert sum(c["count"] for c in kuliner["heatmap"]) == expected_kuliner


async def test_heatmap_precision_range(api: Api) -> None:
    for p in (2, 8, 0):
        assert (await api.as_(None)(HEAT, {"p": p})).error_codes == ["BAD_USER_INPUT"]


async def test_city_clusters_match_brute_force(
    api: Api, dbs: Databases, factory: Factory, geo_rows: None
) -> None:
    # a kota whose only UMKM has no location: counted, no centroid
    nowhere = f"Kota Tanpa Lokasi {uuid.uuid4().hex[:4]}"
    await insert_umkm(dbs, kota=nowhere, provinsi="Bali")
    owner = await factory.account("UMKM_OWNER")
    got = (await api.as_(owner.token)(CLUSTERS)).ok()["cityClusters"]
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for d in await _public_rows(dbs):
        if not (d.get("wilayah") or {}).get("kota"):
            continue  # corrupt rows other tests plant on purpose
        groups[(d["wilayah"]["kota"], d["wilayah"]["provinsi"])].append(d.get("lokasi"))
    assert {(c["kota"], c["provinsi"]): c["count"] for c in got} == {
        k: len(v) for k, v in groups.items()
    }
    for c in got:
        located = [p["coordinates"] for p in groups[(c["kota"], c["provinsi"])] if p]
        if not located:
            assert c["latitude"] is None and c["longitude"] is None
            continue
        assert c["latitude"] == pytest.approx(sum(p[1] for p in located) / len(located))
        assert c["longitude"] == pytest.approx(sum(p[0] for p in located) / len(located))
    malang = (await api.as_(None)(CLUSTERS, {"filter": {"kota": "malang"}})).ok()["cityClusters"]
    assert [c["kota"] for c in malang] == ["Malang"]
