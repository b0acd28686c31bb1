"""Geo search without server geo support (the MongoDB stand-in has none: README, Databases
without Docker): geohash cells and haversine.

A bounding box is covered by a few geohash cells; documents are matched by prefix of their stored
geohash (a range on the string, which an ordinary index serves), then filtered exactly.
"""

from __future__ import annotations

import math
from typing import Any

from db import geohash

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

BBox = tuple[float, float, float, float]  # south, west, north, east


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def circle_bbox(lat: float, lng: float, radius_km: float) -> BBox:
    """A box containing every point within radius_km of (lat, lng)."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = math.cos(math.radians(lat))
    # Near the poles every longitude is close: take the whole band.
    dlng = (
        180.0 if cos_lat < 1e-6 else min(180.0, math.degrees(radius_km / EARTH_RADIUS_KM) / cos_lat)
    )
    return (
        max(-90.0, lat - dlat),
        max(-180.0, lng - dlng),
        min(90.0, lat + dlat),
        min(180.0, lng + dlng),
    )


def _cell_size(precision: int) -> tuple[float, float]:
    bits = 5 * precision
    lat_bits, lng_bits = bits // 2, bits - bits // 2
    return 180.0 / 2**lat_bits, 360.0 / 2**lng_bits


def _cells_at(box: BBox, precision: int, limit: int) -> list[str] | None:
    south, west, north, east = box
    height, width = _cell_size(precision)
    rows = range(int((south + 90) // height), int(min(north + 90, 179.999999) // height) + 1)
    cols = range(int((west + 180) // width), int(min(east + 180, 359.999999) // width) + 1)
    if len(rows) * len(cols) > limit:
        return None
    return sorted(
        {
            geohash.encode(-90 + (r + 0.5) * height, -180 + (c + 0.5) * width, precision)
            for r in rows
            for c in cols
        }
    )


def covering_cells(box: BBox, max_cells: int = 16) -> list[str] | None:
    """The finest geohash cells (at most max_cells) covering box; None when even one-character
    cells are too many (the box spans much of the globe: filter exactly instead)."""
    best: list[str] | None = None
    for precision in range(1, geohash.STORED_PRECISION + 1):
        cells = _cells_at(box, precision, max_cells)
        if cells is None:
            break
        best = cells
    return best


def prefix_filter(cells: list[str]) -> dict[str, Any]:
    """Documents whose geohash starts with one of cells, as index-friendly string ranges
    ('{' sorts right after 'z', the last base32 character)."""
    ranges = [{"geohash": {"$gte": cell, "$lt": cell + "{"}} for cell in cells]
    return ranges[0] if len(ranges) == 1 else {"$or": ranges}


def exact_box_filter(box: BBox) -> dict[str, Any]:
    """lokasi inside box exactly (coordinates are [lng, lat])."""
    south, west, north, east = box
    return {
        "lokasi.coordinates.1": {"$gte": south, "$lte": north},
        "lokasi.coordinates.0": {"$gte": west, "$lte": east},
    }


def box_filter(box: BBox) -> dict[str, Any]:
    """Covering cells (cheap, indexed) and the exact box, combined."""
    cells = covering_cells(box)
    exact = exact_box_filter(box)
    return exact if cells is None else {"$and": [prefix_filter(cells), exact]}
