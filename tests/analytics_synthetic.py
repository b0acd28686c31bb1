"""Fixed-seed synthetic monthly omzet series for the forecast and anomaly tests.

Each series has a trend, multiplicative noise and Indonesian seasonality: a Lebaran peak in the
month of Idul Fitri (which moves about 11 days earlier every year), a smaller run-up the month
before, and a year-end peak in December.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sigma_graphql.analytics.periods import from_index, month_index

# Month of Idul Fitri (1 Syawal) per year.
LEBARAN_MONTH = {
    2018: 6, 2019: 6, 2020: 5, 2021: 5, 2022: 5, 2023: 4,
    2024: 4, 2025: 3, 2026: 3, 2027: 3, 2028: 2,
}  # fmt: skip


def seasonal_factor(tahun: int, bulan: int, lebaran: float, year_end: float) -> float:
    factor = 1.0
    peak = LEBARAN_MONTH[tahun]
    if bulan == peak:
        factor *= 1 + lebaran
    elif bulan == peak - 1:
        factor *= 1 + lebaran / 3
    elif bulan == peak + 1:
        factor *= 1 - lebaran / 5
    if bulan == 12:
        factor *= 1 + year_end
    elif bulan == 11:
        factor *= 1 + year_end / 3
    return factor


@dataclass
class Series:
    start: int  # month index of the first month
    values: list[int]

    def months(self) -> list[tuple[int, int, int]]:
        return [(*from_index(self.start + i), v) for i, v in enumerate(self.values)]


def generate(count: int, seed: int = 20240417) -> list[Series]:
    rng = random.Random(seed)
    result: list[Series] = []
    for _ in range(count):
        length = rng.randint(36, 60)
        end = month_index(2025, 1) + rng.randint(0, 21)  # holdouts fall on every season
        start = end - length + 1
        base = math.exp(rng.gauss(math.log(25_000_000), 0.8))
        trend = rng.uniform(-0.008, 0.02)
        lebaran = rng.uniform(0.25, 0.8)
        year_end = rng.uniform(0.1, 0.4)
        noise = rng.uniform(0.03, 0.12)
        values = []
        for i in range(length):
            tahun, bulan = from_index(start + i)
            level = base * (1 + trend) ** i * seasonal_factor(tahun, bulan, lebaran, year_end)
            values.append(max(0, round(level * math.exp(rng.gauss(0, noise)))))
        result.append(Series(start, values))
    return result
