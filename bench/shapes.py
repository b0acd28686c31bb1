"""The five benchmark shapes: document, variables, who sends them, which root fields they use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUERIES = Path(__file__).parent / "queries"


@dataclass(frozen=True)
class Shape:
    key: str
    name: str
    stem: str
    # Audience the requests are sent as: PUBLIC, UMKM_OWNER or PEJABAT.
    audience: str
    # Root fields of the document, in order (B1 builds each, B2 resolves each).
    roots: tuple[str, ...]

    @property
    def query(self) -> str:
        return (QUERIES / f"{self.stem}.graphql").read_text(encoding="utf-8")

    @property
    def variables(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((QUERIES / f"{self.stem}.json").read_text("utf-8"))
        return loaded

    @property
    def operation_name(self) -> str:
        for line in self.query.splitlines():
            words = line.replace("(", " ").replace("{", " ").split()
            if words and words[0] in ("query", "mutation"):
                return words[1]
        raise ValueError(f"{self.stem}: no named operation")


SHAPES: dict[str, Shape] = {
    s.key: s
    for s in (
        Shape(
            "a",
            "public catalogue umkms(first:100)",
            "a_public_catalog",
            "PUBLIC",
            ("umkms",),
        ),
        Shape(
            "b",
            "officialDashboard + sectorStats + regionStats",
            "b_official_dashboard",
            "PEJABAT",
            ("officialDashboard", "sectorStats", "regionStats"),
        ),
        Shape(
            "c",
            "owner me{umkms(5){financialLogs(24)}} + notifications(20)",
            "c_owner",
            "UMKM_OWNER",
            ("me", "notifications"),
        ),
        Shape(
            "d",
            "staff 100 UMKMs + owner{nama} + financialLogs(tahun)",
            "d_staff_audit",
            "PEJABAT",
            ("umkms",),
        ),
        Shape(
            "e",
            "submitFinancialLog as owners",
            "e_submit_log",
            "UMKM_OWNER",
            ("submitFinancialLog",),
        ),
    )
}
