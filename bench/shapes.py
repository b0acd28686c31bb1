"""The five benchmark shapes: document, variables, who sends them, which resolvers they need."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
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
    # "module.function" of every resolver the shape runs through on B3.
    resolvers: tuple[str, ...]

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

    def missing(self) -> list[str]:
        """Resolvers of this shape that are still `todo(...)` stubs."""
        return [name for name in self.resolvers if is_todo(_function(name))]


SHAPES: dict[str, Shape] = {
    s.key: s
    for s in (
        Shape(
            "a",
            "public catalogue umkms(first:100)",
            "a_public_catalog",
            "PUBLIC",
            ("umkms",),
            ("resolvers.umkm.list_umkms",),
        ),
        Shape(
            "b",
            "officialDashboard + sectorStats + regionStats",
            "b_official_dashboard",
            "PEJABAT",
            ("officialDashboard", "sectorStats", "regionStats"),
            (
                "resolvers.analytics.official_dashboard",
                "resolvers.analytics.sector_stats",
                "resolvers.analytics.region_stats",
            ),
        ),
        Shape(
            "c",
            "owner me{umkms(5){financialLogs(24)}} + notifications(20)",
            "c_owner",
            "UMKM_OWNER",
            ("me", "notifications"),
            (
                "resolvers.auth.me",
                "schema.types.umkm.user_umkms",
                "schema.types.financial.umkm_financial_logs",
                "resolvers.notifications.list_notifications",
            ),
        ),
        Shape(
            "d",
            "staff 100 UMKMs + owner{nama} + financialLogs(tahun)",
            "d_staff_audit",
            "PEJABAT",
            ("umkms",),
            (
                "resolvers.umkm.list_umkms",
                "schema.types.umkm.umkm_owner",
                "schema.types.financial.umkm_financial_logs",
            ),
        ),
        Shape(
            "e",
            "submitFinancialLog as owners",
            "e_submit_log",
            "UMKM_OWNER",
            ("submitFinancialLog",),
            ("resolvers.financial.submit_log",),
        ),
    )
}


def _function(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def is_todo(fn: Callable[..., Any]) -> bool:
    """True while `fn` is still a `todo(...)` stub (resolvers/_todo.py)."""
    code = getattr(fn, "__code__", None)
    return code is not None and "todo" in code.co_names
