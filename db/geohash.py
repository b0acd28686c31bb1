"""Geohash encoding (base32, as in geohash.org) for geo search without server geo support."""

from __future__ import annotations

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_DECODE = {c: i for i, c in enumerate(_BASE32)}

STORED_PRECISION = 9  # ~4.8 m x 4.8 m cells; prefixes give coarser cells


def encode(latitude: float, longitude: float, precision: int = STORED_PRECISION) -> str:
    lat_lo, lat_hi = -90.0, 90.0
    lng_lo, lng_hi = -180.0, 180.0
    chars: list[str] = []
    bits = 0
    value = 0
    even = True
    while len(chars) < precision:
        if even:
            mid = (lng_lo + lng_hi) / 2
            if longitude >= mid:
                value = value * 2 + 1
                lng_lo = mid
            else:
                value *= 2
                lng_hi = mid
        else:
            mid = (lat_lo + lat_hi) / 2
            if latitude >= mid:
                value = value * 2 + 1
                lat_lo = mid
            else:
                value *= 2
                lat_hi = mid
        even = not even
        bits += 1
        if bits == 5:
            chars.append(_BASE32[value])
            bits = 0
            value = 0
    return "".join(chars)


def bounds(cell: str) -> tuple[float, float, float, float]:
    """(south, west, north, east) of a geohash cell."""
    lat_lo, lat_hi = -90.0, 90.0
    lng_lo, lng_hi = -180.0, 180.0
    even = True
    for char in cell:
        value = _DECODE[char]
        for shift in range(4, -1, -1):
            bit = (value >> shift) & 1
            if even:
                mid = (lng_lo + lng_hi) / 2
                lng_lo, lng_hi = (mid, lng_hi) if bit else (lng_lo, mid)
            else:
                mid = (lat_lo + lat_hi) / 2
                lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
            even = not even
    return lat_lo, lng_lo, lat_hi, lng_hi


def center(cell: str) -> tuple[float, float]:
    south, west, north, east = bounds(cell)
    return (south + north) / 2, (west + east) / 2
