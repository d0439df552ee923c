"""Prophet where it earns its cost: a few large, frequent series the cheap portfolio forecasts poorly."""

from __future__ import annotations

import numpy as np

from .portfolio import Design
from .prophet_model import prophet_forecast

MIN_DAYS = 180
MIN_WAPE = 0.2
MARGIN = 0.02
FREQUENT = ("smooth", "erratic")


def candidates(members, design: Design, classes, errors, fitted, budget: int) -> list[int]:
    """Rows worth a Prophet trial, largest volume first, at most ``budget`` of them.

    Prophet can only add what the cheap models lack (holidays by name, yearly shape, trend with
    regressors), so it is tried on long, frequent series with a calendar or promotions and a backtest
    WAPE above 20 %.
    """
    rows = []
    for i, s in enumerate(members):
        with np.errstate(all="ignore"):
            actual = np.nansum(np.where(np.isnan(errors[i]), np.nan, errors[i] + fitted[i]))
            wape = np.nansum(np.abs(errors[i])) / actual if actual > 0 else 0.0
        has_drivers = bool(s.country) or (s.promo is not None and np.ptp(np.nan_to_num(s.promo)) > 0)
        if len(s.demand) >= MIN_DAYS and classes[i] in FREQUENT and has_drivers and wape > MIN_WAPE:
            rows.append(i)
    volume = np.nansum(design.y[:, -90:], axis=1)
    rows.sort(key=lambda i: -volume[i])
    return rows[: max(budget, 0)]


def _fit(s, n_days: int, horizon: int) -> np.ndarray | None:
    promo = None
    if s.promo is not None and len(s.promo) >= n_days + horizon:
        promo = np.nan_to_num(np.asarray(s.promo, dtype=float))
    try:
        return prophet_forecast(np.asarray(s.demand[:n_days], dtype=float), s.start, horizon, promo,
                                s.country, s.subdivision)
    except (RuntimeError, ValueError):  # a failed Stan fit keeps the cheap model
        return None


def prophet_refine(members, design: Design, step: int, classes, mean, errors, fitted, model, *,
                   forced: bool, budget: int) -> None:
    """Swap in Prophet (in place) where its last-origin backtest beats the chosen cheap model.

    ``forced`` (Prophet-only comparisons) fits every series once without a backtest; its quantiles
    then fall back to the wide count distribution because no out-of-sample error is known.
    """
    rows = range(len(members)) if forced else candidates(members, design, classes, errors, fitted, budget)
    horizon = mean.shape[1]
    for i in rows:
        s = members[i]
        n_days = len(s.demand)
        if not forced:
            trial = _fit(s, n_days - step, step)
            if trial is None:
                continue
            prophet_err = np.asarray(s.demand[n_days - step:], dtype=float) - trial
            if not np.nanmean(np.abs(prophet_err)) < (1 - MARGIN) * np.nanmean(np.abs(errors[i, -step:])):
                continue
        final = _fit(s, n_days, horizon)
        if final is None:
            continue
        mean[i], model[i] = final, "prophet"
        errors[i], fitted[i] = np.nan, np.nan
        if not forced:
            errors[i, -step:], fitted[i, -step:] = prophet_err, trial
