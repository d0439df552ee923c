"""Forecast quantiles: empirical (conformal) residuals for frequent demand, negative binomial counts else."""

from __future__ import annotations

import numpy as np
from scipy import stats

DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
COUNT_CLASSES = ("intermittent", "lumpy")
MIN_DISPERSION = 1.05
MAX_DISPERSION = 50.0
WIDE_DISPERSION = 3.0


def dispersion(errors: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Variance-to-mean ratio of backtest errors per series (NB dispersion); wide when unknown."""
    known = ~np.isnan(errors)
    count = np.maximum(known.sum(axis=1), 1)
    var = np.where(known, errors, 0.0) ** 2
    level = np.where(known, fitted, 0.0).sum(axis=1) / count
    ratio = np.where(known.any(axis=1) & (level > 0), var.sum(axis=1) / count / np.maximum(level, 1e-12),
                     WIDE_DISPERSION)
    return np.clip(ratio, MIN_DISPERSION, MAX_DISPERSION)


def count_quantiles(mean: np.ndarray, ratio: np.ndarray, qs: list[float]) -> np.ndarray:
    """Negative binomial quantiles (Q, n, h) with the given mean and variance/mean ratio per series.

    Evaluated once per distinct (mean, ratio) pair: intermittent forecasts are mostly flat.
    """
    r = np.broadcast_to(ratio[:, None], mean.shape)
    key = np.stack([np.round(mean, 4).ravel(), np.round(r, 3).ravel()], axis=1)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    mu, rr = uniq[:, 0], uniq[:, 1]
    size = np.where(mu > 0, mu / (rr - 1.0), 1.0)
    out = np.zeros((len(qs), len(uniq)))
    for i, q in enumerate(qs):
        out[i] = np.where(mu > 0, stats.nbinom.ppf(q, size, 1.0 / rr), 0.0)
    return out[:, inverse.ravel()].reshape((len(qs), *mean.shape))


def residual_quantiles(mean: np.ndarray, errors: np.ndarray, qs: list[float]) -> np.ndarray:
    """mean + empirical quantile of backtest errors (actual − forecast), per series: (Q, n, h)."""
    with np.errstate(all="ignore"):
        shift = np.nanquantile(errors, qs, axis=1)  # (Q, n)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    return mean[None, :, :] + shift[:, :, None]


def make_quantiles(mean: np.ndarray, errors: np.ndarray, fitted: np.ndarray, classes: np.ndarray,
                   qs: list[float]) -> np.ndarray:
    """Valid quantiles (Q, n, h): per class method, clamped at zero and monotone in q."""
    out = np.zeros((len(qs), *mean.shape))
    counts = np.isin(classes, COUNT_CLASSES) | np.all(np.isnan(errors), axis=1)
    if counts.any():
        ratio = dispersion(errors[counts], fitted[counts])
        out[:, counts] = count_quantiles(mean[counts], ratio, qs)
    if (~counts).any():
        out[:, ~counts] = residual_quantiles(mean[~counts], errors[~counts], qs)
    out = np.maximum(out, 0.0)
    return np.maximum.accumulate(out, axis=0)


def quantile_levels(requested) -> list[float]:
    """Sorted union of the requested levels and the mandatory 0.1 / 0.5 / 0.9."""
    levels = {round(float(q), 6) for q in (*DEFAULT_QUANTILES, *requested)}
    bad = [q for q in levels if not 0.0 < q < 1.0]
    if bad:
        raise ValueError(f"quantile levels must lie in (0, 1): {sorted(bad)}")
    return sorted(levels)
