"""Reference data: canonical sectors and Indonesia's 38 provinces (with capital coordinates)."""

from __future__ import annotations

SECTORS: tuple[str, ...] = (
    "Kuliner",
    "Fashion",
    "Kriya",
    "Jasa",
    "Pertanian",
    "Perdagangan",
    "Manufaktur",
    "Lainnya",
)
_SECTOR_BY_LOWER = {s.lower(): s for s in SECTORS}


def canonical_sector(raw: str) -> str | None:
    """The canonical sector name for a case-insensitive match, or None."""
    return _SECTOR_BY_LOWER.get(raw.strip().lower())


# province -> (capital, latitude, longitude)
PROVINCES: dict[str, tuple[str, float, float]] = {
    "Aceh": ("Banda Aceh", 5.55, 95.32),
    "Sumatera Utara": ("Medan", 3.59, 98.67),
    "Sumatera Barat": ("Padang", -0.95, 100.35),
    "Riau": ("Pekanbaru", 0.51, 101.45),
    "Kepulauan Riau": ("Tanjung Pinang", 0.92, 104.45),
    "Jambi": ("Jambi", -1.61, 103.61),
    "Sumatera Selatan": ("Palembang", -2.99, 104.76),
    "Kepulauan Bangka Belitung": ("Pangkal Pinang", -2.13, 106.11),
    "Bengkulu": ("Bengkulu", -3.80, 102.27),
    "Lampung": ("Bandar Lampung", -5.43, 105.26),
    "DKI Jakarta": ("Jakarta", -6.20, 106.82),
    "Jawa Barat": ("Bandung", -6.91, 107.61),
    "Banten": ("Serang", -6.12, 106.15),
    "Jawa Tengah": ("Semarang", -6.97, 110.42),
    "DI Yogyakarta": ("Yogyakarta", -7.80, 110.36),
    "Jawa Timur": ("Surabaya", -7.25, 112.75),
    "Bali": ("Denpasar", -8.65, 115.22),
    "Nusa Tenggara Barat": ("Mataram", -8.58, 116.12),
    "Nusa Tenggara Timur": ("Kupang", -10.18, 123.61),
    "Kalimantan Barat": ("Pontianak", -0.03, 109.33),
    "Kalimantan Tengah": ("Palangka Raya", -2.21, 113.92),
    "Kalimantan Selatan": ("Banjarbaru", -3.44, 114.83),
    "Kalimantan Timur": ("Samarinda", -0.50, 117.15),
    "Kalimantan Utara": ("Tanjung Selor", 2.84, 117.37),
    "Sulawesi Utara": ("Manado", 1.47, 124.84),
    "Gorontalo": ("Gorontalo", 0.54, 123.06),
    "Sulawesi Tengah": ("Palu", -0.90, 119.87),
    "Sulawesi Barat": ("Mamuju", -2.68, 118.89),
    "Sulawesi Selatan": ("Makassar", -5.15, 119.43),
    "Sulawesi Tenggara": ("Kendari", -3.97, 122.51),
    "Maluku": ("Ambon", -3.70, 128.17),
    "Maluku Utara": ("Sofifi", 0.74, 127.56),
    "Papua": ("Jayapura", -2.53, 140.72),
    "Papua Barat": ("Manokwari", -0.86, 134.06),
    "Papua Selatan": ("Merauke", -8.49, 140.40),
    "Papua Tengah": ("Nabire", -3.37, 135.50),
    "Papua Pegunungan": ("Wamena", -4.10, 138.95),
    "Papua Barat Daya": ("Sorong", -0.88, 131.25),
}
_PROVINCE_BY_LOWER = {p.lower(): p for p in PROVINCES}


def canonical_province(raw: str) -> str | None:
    return _PROVINCE_BY_LOWER.get(raw.strip().lower())


# Indonesia's bounding box (CreateUMKMInput.lokasi).
LAT_MIN, LAT_MAX = -11.0, 6.0
LNG_MIN, LNG_MAX = 95.0, 141.0
