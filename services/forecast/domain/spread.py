"""The spread of forecast errors that policy protects with: one daily σ, and σ on promotion and other days.

`errors` are (n, origins·step) backtest errors, actual − forecast, NaN where unknown; each origin's `step` days
are consecutive. Policy adds up T days of demand and scales a daily σ by √T, which holds only for independent
days: a forecast that is off for a while (a level shift, a promotion bigger than expected, a bias) errs the same
way on consecutive days. So every σ here is the larger of the single days' and the weekly error sums' ÷ √7,
root mean square about zero (the bias belongs in the margin too).
"""
from __future__ import annotations

import numpy as np

WEEK = 7
MIN_KNOWN = 4  # days of a week's backtest errors that must be known for its sum to count


def residual_std(errors: np.ndarray, step: int) -> np.ndarray:
    """Per series, the daily σ over every backtest day."""
    daily = np.array([np.nanstd(e) if np.any(~np.isnan(e)) else 0.0 for e in errors])
    sums, _ = weekly_sums(errors, np.zeros(errors.shape, dtype=bool), step)
    if sums is None:
        return np.nan_to_num(daily)
    counted = (~np.isnan(sums)).sum(axis=1)
    with np.errstate(all="ignore"):
        weekly = np.sqrt(np.nansum(sums**2, axis=1) / np.maximum(counted, 1) / WEEK)
    return np.nan_to_num(np.where(counted > 0, np.maximum(daily, weekly), daily))


def regime_std(errors: np.ndarray, promo: np.ndarray, step: int, overall: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per series (σ on days without a promotion, σ on promotion days), NaN for a series whose backtest has no
    promotion day (policy then uses `overall` for every day).

    A promotion-driven item errs by tens of units in its promotion weeks and by one or two otherwise; one σ for
    all days made it hold its promotion's safety stock all year. Regular σ: from the weeks without a promotion
    day (and those weeks' days). Promotion σ: each promotion week's squared error sum less what its regular days
    explain, per promotion day; never below the regular σ (a promotion day is not calmer than another)."""
    promo = promo.astype(bool)
    has = (promo & ~np.isnan(errors)).any(axis=1)
    sums, days = weekly_sums(errors, promo, step)
    known = ~np.isnan(errors)
    squares = np.where(known, errors, 0.0) ** 2
    with np.errstate(all="ignore"):
        regular = (squares * ~promo).sum(axis=1) / (known & ~promo).sum(axis=1)
        on_promo = (squares * promo).sum(axis=1) / (known & promo).sum(axis=1)
        if sums is not None:
            plain = ~np.isnan(sums) & (days == 0)
            weekly = np.where(plain, sums, 0.0) ** 2
            regular = np.fmax(regular, np.where(plain.any(axis=1), weekly.sum(axis=1) / plain.sum(axis=1) / WEEK,
                                                np.nan))
        regular = np.where(np.isfinite(regular), regular, overall**2)
        promoted = promo_variance(sums, days, regular) if sums is not None else np.full(len(errors), np.nan)
        promo_var = np.fmax(np.fmax(promoted, on_promo), regular)
    return (np.where(has, np.sqrt(regular), np.nan), np.where(has, np.sqrt(promo_var), np.nan))


def promo_variance(sums: np.ndarray, days: np.ndarray, regular: np.ndarray) -> np.ndarray:
    """Σ over promotion weeks of max(sum² − regular days · regular variance, 0) ÷ Σ their promotion days."""
    weeks = ~np.isnan(sums) & (days > 0)
    excess = np.maximum(np.where(weeks, sums, 0.0) ** 2 - (WEEK - days) * regular[:, None], 0.0)
    count = np.where(weeks, days, 0).sum(axis=1)
    with np.errstate(all="ignore"):
        return np.where(count > 0, np.where(weeks, excess, 0.0).sum(axis=1) / count, np.nan)


def weekly_sums(errors: np.ndarray, flags: np.ndarray, step: int) -> tuple[np.ndarray | None, np.ndarray]:
    """Each backtest week's error sum, scaled up to 7 days (NaN for a week with fewer than MIN_KNOWN known days),
    and how many of its days are flagged. (None, …) when an origin spans less than a week."""
    n, weeks = errors.shape[0], step // WEEK
    if weeks < 1:
        return None, np.zeros((n, 0), dtype=int)

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[:, : a.shape[1] // step * step].reshape(n, -1, step)[:, :, : weeks * WEEK].reshape(n, -1, WEEK)

    e = blocks(errors)
    known = (~np.isnan(e)).sum(axis=2)
    with np.errstate(all="ignore"):
        sums = np.where(known >= MIN_KNOWN, np.nansum(e, axis=2) / np.maximum(known, 1) * WEEK, np.nan)
    return sums, blocks(flags).sum(axis=2)
