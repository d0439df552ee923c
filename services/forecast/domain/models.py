"""Cheap forecasting models vectorized across all series at once (rows = series, columns = days).

Every model reads a right-aligned matrix ``y`` (NaN = unknown day: censored, padding or closed), weekday
indices and a per-call cache of shared intermediate results, and returns a (series, horizon) matrix of
mean daily demand. Recursions
skip NaN days: the state carries over, so censored days neither pull the level down nor count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .recursions import croston, ses, tsb_state

SES_ALPHAS = np.array([0.02, 0.05, 0.1, 0.2, 0.35, 0.6])
INTERMITTENT_ALPHA = 0.1
AGGREGATIONS = 7
MA_WINDOW = 28
WEEKDAY_WEEKS = 4


def _fill(f: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(f), np.maximum(f, 0.0), 0.0)


def weekday_profile(y: np.ndarray, wd: np.ndarray, window: int = 364, shrink: float = 4.0) -> np.ndarray:
    """Multiplicative weekday profile (series, 7), mean 1, shrunk towards flat for sparse weekdays."""
    y, wd = y[:, -window:], wd[:, -window:]
    obs = ~np.isnan(y)
    level = np.nansum(y, axis=1) / np.maximum(obs.sum(axis=1), 1)
    prof = np.ones((y.shape[0], 7))
    for d in range(7):
        m = obs & (wd == d)
        cnt = m.sum(axis=1)
        mean_d = np.where(m, y, 0.0).sum(axis=1) / np.maximum(cnt, 1)
        raw = np.where(level > 0, mean_d / np.where(level > 0, level, 1.0), 1.0)
        prof[:, d] = (cnt * raw + shrink) / (cnt + shrink)
    return prof / prof.mean(axis=1, keepdims=True)


def _horizon_profile(prof: np.ndarray, wd_h: np.ndarray) -> np.ndarray:
    return np.take_along_axis(prof, wd_h, axis=1)


def ses_weekly(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict | None = None
) -> np.ndarray:
    """SES on weekday-adjusted demand, alpha picked per series by in-sample one-step error."""
    prof = weekday_profile(y, wd)
    adjusted = y / np.take_along_axis(prof, wd, axis=1)
    level, sse = ses(adjusted, SES_ALPHAS)
    best = np.argmin(sse, axis=0)
    final = level[best, np.arange(y.shape[0])]
    return _fill(final[:, None] * _horizon_profile(prof, wd_h))


def moving_average(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict | None = None
) -> np.ndarray:
    """Flat mean of the observed days among the last 28."""
    tail = y[:, -MA_WINDOW:]
    seen = (~np.isnan(tail)).sum(axis=1)
    mean = np.nansum(tail, axis=1) / np.maximum(seen, 1)
    return _fill(np.repeat(mean[:, None], wd_h.shape[1], axis=1))


def weekday_average(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict | None = None
) -> np.ndarray:
    """Mean of the last 4 same weekdays (a smoothed seasonal naive)."""
    tail, wd_tail = y[:, -7 * WEEKDAY_WEEKS:], wd[:, -7 * WEEKDAY_WEEKS:]
    out = np.zeros((y.shape[0], 7))
    for d in range(7):
        m = (wd_tail == d) & ~np.isnan(tail)
        out[:, d] = np.where(m, tail, 0.0).sum(axis=1) / np.maximum(m.sum(axis=1), 1)
    return _fill(_horizon_profile(out, wd_h))


def seasonal_naive(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict | None = None
) -> np.ndarray:
    """Last observed value of the same weekday (falls back to the weekday average when unknown)."""
    last = np.full((y.shape[0], 7), np.nan)
    for j in range(max(0, y.shape[1] - 7), y.shape[1]):
        last[np.arange(y.shape[0]), wd[:, j]] = y[:, j]
    fallback = weekday_average(y, wd, np.tile(np.arange(7), (y.shape[0], 1)))
    last = np.where(np.isnan(last), fallback, last)
    return _fill(_horizon_profile(last, wd_h))


def croston_sba(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict | None = None
) -> np.ndarray:
    """Croston with the Syntetos-Boylan bias correction (1 − α/2), sizes and intervals smoothed."""
    a = INTERMITTENT_ALPHA
    size, interval = croston(y, a)
    rate = (1 - a / 2) * size / interval
    return _fill(np.repeat(rate[:, None], wd_h.shape[1], axis=1))


def tsb(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict | None = None
) -> np.ndarray:
    """Teunter-Syntetos-Babai: smoothed demand probability times smoothed non-zero size."""
    prob, size = tsb_state(y, INTERMITTENT_ALPHA)
    rate = prob * np.where(np.isnan(size), 0.0, size)
    return _fill(np.repeat(rate[:, None], wd_h.shape[1], axis=1))


def _aggregate_level(y: np.ndarray, k: int) -> np.ndarray:
    """SES (α 0.1) level of non-overlapping k-day buckets, as a daily rate; NaN days pro-rated."""
    m = y.shape[1] // k
    if m == 0:
        return np.full(y.shape[0], np.nan)
    block = y[:, y.shape[1] - m * k:].reshape(y.shape[0], m, k)
    seen = (~np.isnan(block)).sum(axis=2)
    # daily rate of each bucket, pro-rated over its known days; an all-unknown bucket stays NaN
    buckets = np.where(seen > 0, np.nansum(block, axis=2) / np.maximum(seen, 1), np.nan)
    level, _ = ses(buckets, np.array([INTERMITTENT_ALPHA]), with_sse=False)
    return level[0]


def aggregate_levels(y: np.ndarray, cache: dict) -> np.ndarray:
    """Daily rates (AGGREGATIONS, n) of the bucket SES for bucket sizes 1..AGGREGATIONS, computed once."""
    if "aggregate" not in cache:
        cache["aggregate"] = np.stack([_aggregate_level(y, k) for k in range(1, AGGREGATIONS + 1)])
    return cache["aggregate"]


def adida(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict) -> np.ndarray:
    """ADIDA: SES on buckets as long as the mean inter-demand interval (rounded, 1..7 days)."""
    hits = (np.where(np.isnan(y), 0.0, y) > 0).sum(axis=1)
    observed = (~np.isnan(y)).sum(axis=1)
    k = np.clip(np.rint(observed / np.maximum(hits, 1)), 1, AGGREGATIONS).astype(int)
    rate = aggregate_levels(y, cache)[k - 1, np.arange(y.shape[0])]
    return _fill(np.repeat(rate[:, None], wd_h.shape[1], axis=1))


def imapa(y: np.ndarray, wd: np.ndarray, wd_h: np.ndarray, cache: dict) -> np.ndarray:
    """IMAPA: mean of the bucket SES daily rates over bucket sizes 1..7 days."""
    stack = aggregate_levels(y, cache)
    known = (~np.isnan(stack)).sum(axis=0)
    rates = np.where(known > 0, np.nansum(stack, axis=0) / np.maximum(known, 1), 0.0)
    return _fill(np.repeat(rates[:, None], wd_h.shape[1], axis=1))


Model = Callable[[np.ndarray, np.ndarray, np.ndarray, dict], np.ndarray]
MODELS: dict[str, Model] = {
    "ses_weekly": ses_weekly,
    "weekday_avg": weekday_average,
    "seasonal_naive": seasonal_naive,
    "moving_avg": moving_average,
    "croston_sba": croston_sba,
    "tsb": tsb,
    "adida": adida,
    "imapa": imapa,
}
