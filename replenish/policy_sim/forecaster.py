"""An honest, fast forecaster for the simulator: smoothed level × weekly profile × promotion uplift,
with the error of the protection-period sum learned from past origins only (no look-ahead)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHAS = (0.02, 0.05, 0.1, 0.2)
ERROR_HALF_LIFE_DAYS = 180.0
UPLIFT_PRIOR_DAYS = 20.0
WARMUP_DAYS = 28


@dataclass(frozen=True)
class Forecasts:
    """For every origin day t (rows) and SKU: expected demand over [t, t+T) and σ of its error,
    both computed from days before t only."""

    horizon: int
    mean: np.ndarray
    sigma: np.ndarray
    errors: np.ndarray  # actual - mean of origin t; known only from day t + horizon on

    def standardized_errors(self, t: int, window: int) -> np.ndarray:
        """Errors of origins whose window had closed by day t, over the σ known at their origin."""
        last = t - self.horizon
        first = max(last - window, 0)
        if last <= first:
            return np.zeros((1, self.mean.shape[1]))
        z = self.errors[first:last] / np.maximum(self.sigma[first:last], 1e-9)
        # the shape of the tail is kept, the level is not: an old bias says little about the next weeks
        return z - z.mean(axis=0)


def weekly_profile(demand: np.ndarray, weekdays: np.ndarray, fit_end: int) -> np.ndarray:
    """Mean demand by weekday over the mean (7 × SKUs), from the fitting window."""
    fit = demand[:fit_end]
    overall = np.maximum(fit.mean(axis=0), 1e-9)
    profile = np.stack([fit[weekdays[:fit_end] == w].mean(axis=0) for w in range(7)]) / overall
    profile = np.where(fit.sum(axis=0) > 0, profile, 1.0)
    return np.maximum(profile, 0.05) / np.maximum(profile, 0.05).mean(axis=0)


def promo_uplift(demand: np.ndarray, promo: np.ndarray | None, base: np.ndarray, fit_end: int) -> np.ndarray:
    """Demand on promotion days over demand on other days, shrunk toward 1 when promotions were few."""
    if promo is None:
        return np.ones(demand.shape[1])
    x = demand[:fit_end] / base[:fit_end]
    flags = promo[:fit_end]
    n_promo = flags.sum(axis=0)
    on = (x * flags).sum(axis=0) / np.maximum(n_promo, 1)
    off = (x * ~flags).sum(axis=0) / np.maximum((~flags).sum(axis=0), 1)
    raw = np.where(off > 0, on / np.maximum(off, 1e-9), 1.0)
    return np.clip((n_promo * raw + UPLIFT_PRIOR_DAYS) / (n_promo + UPLIFT_PRIOR_DAYS), 0.5, 6.0)


def _levels(adjusted: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Level known at the start of each day, per smoothing constant (days × alphas × SKUs)."""
    days, n = adjusted.shape
    out = np.empty((days, len(alphas), n))
    level = np.tile(adjusted[:WARMUP_DAYS].mean(axis=0), (len(alphas), 1))
    a = alphas[:, None]
    for t in range(days):
        out[t] = level
        level = a * adjusted[t] + (1 - a) * level
    return out


def _window_sums(x: np.ndarray, horizon: int) -> np.ndarray:
    """Sum of x over [t, t+horizon) for every t, truncated at the end."""
    c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    ends = np.minimum(np.arange(x.shape[0]) + horizon, x.shape[0])
    return c[ends] - c[:-1]


def _error_sigma(errors: np.ndarray, horizon: int, fit_end: int) -> np.ndarray:
    """σ of the sum error at each origin from errors whose window had closed by then."""
    days, n = errors.shape
    weight = 1 - 0.5 ** (1 / ERROR_HALF_LIFE_DAYS)
    start = WARMUP_DAYS + horizon
    var = np.full(n, np.mean(np.square(errors[WARMUP_DAYS:max(fit_end - horizon, start)]), axis=0))
    out = np.empty((days, n))
    for t in range(days):
        closed = t - horizon
        if closed >= fit_end - horizon:
            var = (1 - weight) * var + weight * np.square(errors[closed])
        out[t] = np.sqrt(var)
    return out


def fit_forecasts(demand: np.ndarray, promo: np.ndarray | None, weekdays: np.ndarray, fit_end: int,
                  horizon: int) -> Forecasts:
    """Forecasts for every origin; the profile, uplift and α come from days before `fit_end`."""
    profile = weekly_profile(demand, weekdays, fit_end)[weekdays]
    uplift = promo_uplift(demand, promo, profile, fit_end)
    factor = profile * (np.where(promo, uplift, 1.0) if promo is not None else 1.0)
    levels = _levels(demand / factor, np.array(ALPHAS))
    # planned promotions inside the window are known at the origin, like any promotion calendar
    factor_sums = _window_sums(factor, horizon)
    actual = _window_sums(demand, horizon)
    means = levels * factor_sums[:, None, :]
    scored = slice(WARMUP_DAYS, fit_end - horizon)
    best = np.argmin(np.mean(np.square(actual[scored, None, :] - means[scored]), axis=0), axis=0)
    mean = np.take_along_axis(means, best[None, None, :], axis=1)[:, 0, :]
    return Forecasts(horizon, mean, _error_sigma(actual - mean, horizon, fit_end), actual - mean)
