"""Suspicious months: an UMKM's change that departs from what its sector did the same month.

For every reported month m of the UMKM:
  change(m) = ln((omzet(m) + 1) / (median of its own reports in the LOOKBACK months before m + 1))
Peers are the UMKMs of the same sector with a change in month m (all UMKMs of month m when the
sector has fewer than MIN_PEERS). The score is a robust z-score of the UMKM's change against its
peers' changes:
  score = |change - median(peer changes)| / max(1.4826 * MAD(peer changes), MIN_SPREAD)
A Lebaran peak that the whole sector shares moves the peer median with it, so it scores low; a
single UMKM jumping tenfold while its peers move a few percent scores very high. Median and MAD
(not mean and standard deviation) keep one extreme value from hiding itself or others.
MIN_SPREAD keeps a sector of near-identical changes from turning ordinary noise into huge scores.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sigma_graphql.analytics.periods import from_index, month_index

LOOKBACK = 3
MIN_PEERS = 5
MIN_SPREAD = 0.1
MAD_SCALE = 1.4826  # makes the MAD comparable to a standard deviation for normal data


@dataclass(frozen=True)
class UmkmHistory:
    umkm_id: uuid.UUID
    sektor: str
    omzet: Mapping[int, int]  # month index -> omzet


@dataclass(frozen=True)
class Scored:
    umkm_id: uuid.UUID
    tahun: int
    bulan: int
    score: float
    reason: str


@dataclass(frozen=True)
class _Change:
    history: UmkmHistory
    month: int
    value: float
    baseline: float
    months_used: int


def _change(history: UmkmHistory, month: int) -> _Change | None:
    before = [history.omzet[m] for m in range(month - LOOKBACK, month) if m in history.omzet]
    if not before:
        return None
    baseline = statistics.median(before)
    value = math.log((history.omzet[month] + 1) / (baseline + 1))
    return _Change(history, month, value, baseline, len(before))


def _center_spread(values: list[float]) -> tuple[float, float]:
    center = statistics.median(values)
    mad = statistics.median(abs(v - center) for v in values)
    return center, max(MAD_SCALE * mad, MIN_SPREAD)


def _percent(change: float) -> str:
    """A log change as a signed percent, Indonesian style (comma decimal)."""
    pct = (math.exp(change) - 1) * 100
    return f"{pct:+.1f}%".replace(".", ",")


def _reason(c: _Change, peer_center: float, peers: int, sector_pool: bool, score: float) -> str:
    ratio = math.exp(c.value)
    if ratio >= 2:
        own = f"naik {ratio:.1f} kali lipat".replace(".", ",")
    elif ratio <= 0.5:
        own = f"turun menjadi {ratio * 100:.0f}%"
    else:
        own = f"berubah {_percent(c.value)}"
    group = f"UMKM sektor {c.history.sektor}" if sector_pool else "seluruh UMKM"
    score_text = f"{score:.1f}".replace(".", ",")
    return (
        f"Omzet {own} dibanding median {c.months_used} bulan sebelumnya, sedangkan median "
        f"perubahan {group} ({peers} UMKM) pada bulan yang sama {_percent(peer_center)}; "
        f"skor penyimpangan {score_text}."
    )


def score_months(
    histories: list[UmkmHistory], tahun: int, bulan: int | None = None
) -> list[Scored]:
    """Every reported month of `tahun` (or only `bulan`), highest score first.

    `histories` must include the LOOKBACK months before the first scored month (for January,
    the previous year's last months) so the first months have a baseline.
    """
    first = month_index(tahun, bulan or 1)
    last = month_index(tahun, bulan or 12)
    changes: dict[int, list[_Change]] = {}
    for history in histories:
        for month in history.omzet:
            if first <= month <= last:
                change = _change(history, month)
                if change is not None:
                    changes.setdefault(month, []).append(change)
    scored: list[Scored] = []
    for month, month_changes in changes.items():
        overall = _center_spread([c.value for c in month_changes])
        by_sector: dict[str, list[_Change]] = {}
        for c in month_changes:
            by_sector.setdefault(c.history.sektor, []).append(c)
        for sektor_changes in by_sector.values():
            sector_pool = len(sektor_changes) >= MIN_PEERS
            pool = sektor_changes if sector_pool else month_changes
            center, spread = _center_spread([c.value for c in pool]) if sector_pool else overall
            for c in sektor_changes:
                score = round(abs(c.value - center) / spread, 2)
                tahun_m, bulan_m = from_index(month)
                scored.append(
                    Scored(
                        umkm_id=c.history.umkm_id,
                        tahun=tahun_m,
                        bulan=bulan_m,
                        score=score,
                        reason=_reason(c, center, len(pool), sector_pool, score),
                    )
                )
    scored.sort(key=lambda s: (-s.score, s.tahun, s.bulan, str(s.umkm_id)))
    return scored
