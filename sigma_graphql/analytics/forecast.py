"""Monthly revenue forecasts with prediction bands, in pure Python (no numeric dependencies).

Which method runs depends on how much history an UMKM has (months from its first to its last
report, gaps filled by linear interpolation):
- 24+ months: Holt-Winters with a damped trend and 12-month seasonality, fitted both on the raw
  series (additive seasonality) and on log(omzet) (multiplicative seasonality), plus a seasonal
  naive forecast with the year-on-year ratio. The candidate with the lowest error on the last
  HOLDOUT months (fitted without them) wins and is refitted on the whole series.
- 6..23 months: Holt's damped trend on log(omzet) (no seasonality: not enough years to tell a
  season from noise).
- 3..5 months: the mean of the last three months.
- fewer than 3 months: no forecast (None).
Smoothing parameters are chosen by a small grid search minimising one-step-ahead squared errors.
Bands: point forecast +- 1.96 x the standard deviation of the one-step errors x sqrt(horizon)
(on the log scale for log models, so the band is asymmetric there), clipped at zero.
Forecast months are the calendar months after the latest month on record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product

from sigma_graphql.analytics.periods import from_index, month_index

SEASON = 12
HOLDOUT = 3
MIN_MONTHS = 3
Z95 = 1.96

METHOD_HW_ADDITIVE = "holt-winters-additive-damped"
METHOD_HW_MULTIPLICATIVE = "holt-winters-multiplicative-damped"
METHOD_SEASONAL_NAIVE = "seasonal-naive-yoy"
METHOD_DAMPED_TREND = "damped-trend"
METHOD_MOVING_AVERAGE = "moving-average-3"

_ALPHAS = (0.1, 0.3, 0.5, 0.8)
_BETAS = (0.0, 0.05, 0.2)
_GAMMAS = (0.05, 0.2, 0.4)
_PHIS = (0.85, 0.95)


@dataclass(frozen=True)
class Point:
    tahun: int
    bulan: int
    predicted: int
    lower: int
    upper: int


@dataclass(frozen=True)
class Forecast:
    method: str
    points: list[Point]


@dataclass(frozen=True)
class _Fit:
    """Forecasts on the model's own scale and the spread of its one-step errors."""

    means: list[float]
    sigma: float


def build_series(months: Sequence[tuple[int, int, int]]) -> tuple[int, list[float]]:
    """(index of the first month, omzet per consecutive month) with gaps interpolated."""
    by_index = {month_index(t, b): float(o) for t, b, o in months}
    start, end = min(by_index), max(by_index)
    series: list[float] = []
    known = sorted(by_index)
    k = 0
    for idx in range(start, end + 1):
        if idx in by_index:
            series.append(by_index[idx])
            continue
        while known[k + 1] < idx:
            k += 1
        left, right = known[k], known[k + 1]
        share = (idx - left) / (right - left)
        series.append(by_index[left] + share * (by_index[right] - by_index[left]))
    return start, series


# ---------------------------------------------------------------- models on one scale


def _holt_winters(
    y: Sequence[float],
    horizon: int,
    alpha: float,
    beta: float,
    gamma: float,
    phi: float,
    seasonal: bool,
) -> tuple[list[float], float, int]:
    """Damped-trend exponential smoothing (additive season when `seasonal`).

    Returns (forecasts, sum of squared one-step errors, number of errors counted). Errors are
    counted after the first season, which the initial state is estimated from.
    """
    m = SEASON if seasonal else 1
    first = y[:m]
    level = sum(first) / len(first)
    if seasonal and len(y) >= 2 * SEASON:
        trend = (sum(y[SEASON : 2 * SEASON]) / SEASON - level) / SEASON
    elif len(y) >= 2:
        trend = (y[min(len(y), m + 1) - 1] - y[0]) / max(1, min(len(y), m + 1) - 1)
    else:
        trend = 0.0
    season = [v - level for v in first] if seasonal else [0.0]
    sse = 0.0
    count = 0
    for t, value in enumerate(y):
        s = season[t % m] if seasonal else 0.0
        predicted = level + phi * trend + s
        if t >= m:
            sse += (value - predicted) ** 2
            count += 1
        new_level = alpha * (value - s) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        if seasonal:
            season[t % m] = gamma * (value - new_level) + (1 - gamma) * s
        level = new_level
    n = len(y)
    out: list[float] = []
    damp = 0.0
    for h in range(1, horizon + 1):
        damp += phi**h
        s = season[(n + h - 1) % m] if seasonal else 0.0
        out.append(level + damp * trend + s)
    return out, sse, count


def _best_smoothing(y: Sequence[float], horizon: int, seasonal: bool) -> _Fit:
    best: tuple[float, list[float], float] | None = None
    gammas = _GAMMAS if seasonal else (0.0,)
    for alpha, beta, gamma, phi in product(_ALPHAS, _BETAS, gammas, _PHIS):
        out, sse, count = _holt_winters(y, horizon, alpha, beta, gamma, phi, seasonal)
        if best is None or sse < best[0]:
            sigma = math.sqrt(sse / count) if count else _spread(y)
            best = (sse, out, sigma)
    assert best is not None
    return _Fit(best[1], best[2])


def _seasonal_naive(y: Sequence[float], horizon: int) -> _Fit:
    """Same month last year times the ratio of the last 12 months to the 12 before."""
    last, before = sum(y[-SEASON:]), sum(y[-2 * SEASON : -SEASON])
    ratio = min(2.0, max(0.5, last / before)) if before > 0 else 1.0
    n = len(y)
    out = [y[n - SEASON + (h - 1) % SEASON] * ratio for h in range(1, horizon + 1)]
    errors = [y[t] - y[t - SEASON] * ratio for t in range(2 * SEASON, n)] or [0.0]
    return _Fit(out, math.sqrt(sum(e * e for e in errors) / len(errors)))


def _spread(y: Sequence[float]) -> float:
    if len(y) < 2:
        return 0.0
    mean = sum(y) / len(y)
    return math.sqrt(sum((v - mean) ** 2 for v in y) / (len(y) - 1))


# ---------------------------------------------------------------- scales


def _log_offset(y: Sequence[float]) -> float:
    # Keeps log() defined for months with zero omzet without distorting normal months.
    return max(1.0, 0.01 * (sum(y) / len(y)))


@dataclass(frozen=True)
class _Method:
    name: str
    log_scale: bool
    fit: Callable[[Sequence[float], int], _Fit]


def _points_on_scale(
    method: _Method, y: Sequence[float], horizon: int
) -> list[tuple[float, float, float]]:
    """(point, lower, upper) per horizon step on the original scale."""
    if method.log_scale:
        c = _log_offset(y)
        fit = method.fit([math.log(v + c) for v in y], horizon)
        rows: list[tuple[float, float, float]] = []
        for h, mean in enumerate(fit.means, start=1):
            half = Z95 * fit.sigma * math.sqrt(h)
            rows.append((math.exp(mean) - c, math.exp(mean - half) - c, math.exp(mean + half) - c))
        return rows
    fit = method.fit(y, horizon)
    return [
        (mean, mean - Z95 * fit.sigma * math.sqrt(h), mean + Z95 * fit.sigma * math.sqrt(h))
        for h, mean in enumerate(fit.means, start=1)
    ]


HW_ADDITIVE = _Method(METHOD_HW_ADDITIVE, False, lambda y, h: _best_smoothing(y, h, True))
HW_MULTIPLICATIVE = _Method(
    METHOD_HW_MULTIPLICATIVE, True, lambda y, h: _best_smoothing(y, h, True)
)
SEASONAL_NAIVE = _Method(METHOD_SEASONAL_NAIVE, False, _seasonal_naive)
DAMPED_TREND = _Method(METHOD_DAMPED_TREND, True, lambda y, h: _best_smoothing(y, h, False))
MOVING_AVERAGE = _Method(
    METHOD_MOVING_AVERAGE,
    False,
    lambda y, h: _Fit([sum(y[-3:]) / 3] * h, _spread(y)),
)
SEASONAL_CANDIDATES = (HW_MULTIPLICATIVE, HW_ADDITIVE, SEASONAL_NAIVE)


def mape(actual: Sequence[float], predicted: Sequence[float]) -> float:
    """Mean absolute percentage error in percent (months with zero actual are skipped)."""
    pairs = [(a, p) for a, p in zip(actual, predicted, strict=True) if a != 0]
    if not pairs:
        return 0.0
    return 100 * sum(abs(a - p) / abs(a) for a, p in pairs) / len(pairs)


def _choose(y: Sequence[float]) -> _Method:
    if len(y) >= 2 * SEASON:
        train, test = y[:-HOLDOUT], y[-HOLDOUT:]
        scored = [
            (mape(test, [p[0] for p in _points_on_scale(m, train, HOLDOUT)]), i, m)
            for i, m in enumerate(SEASONAL_CANDIDATES)
        ]
        return min(scored)[2]
    if len(y) >= 6:
        return DAMPED_TREND
    return MOVING_AVERAGE


def forecast(months: Sequence[tuple[int, int, int]], horizon: int) -> Forecast | None:
    """Forecast `horizon` months after the latest one in `months` ((tahun, bulan, omzet) rows)."""
    if len({(t, b) for t, b, _ in months}) < MIN_MONTHS:
        return None
    start, y = build_series(months)
    method = _choose(y)
    last = start + len(y) - 1
    points = []
    for h, (mean, low, high) in enumerate(_points_on_scale(method, y, horizon), start=1):
        tahun, bulan = from_index(last + h)
        predicted = max(0, round(mean))
        points.append(
            Point(
                tahun=tahun,
                bulan=bulan,
                predicted=predicted,
                lower=min(predicted, max(0, round(low))),
                upper=max(predicted, round(high)),
            )
        )
    return Forecast(method.name, points)


def original_forecast(y: Sequence[float], horizon: int) -> list[float]:
    """The original system's method, kept for comparison in tests: the average of the last 3
    months compounded by its change against the 3 months before."""
    last3 = sum(y[-3:]) / 3
    prev3 = sum(y[-6:-3]) / 3 if len(y) >= 6 else 0.0
    change = last3 / prev3 - 1 if prev3 > 0 else 0.0
    return [last3 * (1 + change) ** h for h in range(1, horizon + 1)]
