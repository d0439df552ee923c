"""Prophet for one series: weekly/yearly seasonality, `holidays` calendar, promo regressor, clamped at 0."""

from __future__ import annotations

import datetime
import logging

import numpy as np
import pandas as pd

from .calendar import holiday_names

MIN_OBSERVED = 28
YEARLY_MIN_DAYS = 2 * 365 + 1  # Prophet warns below two full years


def _quiet() -> None:
    # cmdstanpy logs every fit at INFO; a batch of fits would flood the service log. A handler on its
    # logger stops cmdstanpy from installing its own INFO stream handler; warnings still propagate.
    stan = logging.getLogger("cmdstanpy")
    if not any(isinstance(h, logging.NullHandler) for h in stan.handlers):
        stan.addHandler(logging.NullHandler())
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _holiday_frame(country: str | None, subdivision: str | None, first: datetime.date,
                   n_days: int) -> pd.DataFrame | None:
    names = holiday_names(country, subdivision, first, n_days)
    if not names:
        return None
    return pd.DataFrame({"holiday": list(names.values()), "ds": pd.to_datetime(list(names.keys()))})


def prophet_forecast(demand: np.ndarray, start: datetime.date, horizon: int,
                     promo: np.ndarray | None = None, country: str | None = None,
                     subdivision: str | None = None) -> np.ndarray:
    """Mean daily demand for the ``horizon`` days after history; NaN history days are left out.

    ``promo`` (0/1) must cover history and horizon to be used as a regressor.
    """
    from prophet import Prophet  # heavy import (cmdstan); only paid by callers that fit Prophet

    _quiet()
    y = np.asarray(demand, dtype=float)
    if np.count_nonzero(~np.isnan(y)) < MIN_OBSERVED:
        raise ValueError("Prophet needs at least 28 observed days")
    n_all = len(y) + horizon
    ds = pd.date_range(start, periods=n_all, freq="D")
    model = Prophet(
        weekly_seasonality=True,
        yearly_seasonality=len(y) >= YEARLY_MIN_DAYS,
        daily_seasonality=False,
        holidays=_holiday_frame(country, subdivision, start, n_all),
        uncertainty_samples=0,
    )
    frame = pd.DataFrame({"ds": ds[: len(y)], "y": y})
    future = pd.DataFrame({"ds": ds[len(y):]})
    use_promo = promo is not None and len(promo) >= n_all and np.ptp(promo[: len(y)]) > 0
    if use_promo:
        model.add_regressor("promo")
        frame["promo"] = np.asarray(promo[: len(y)], dtype=float)
        future["promo"] = np.asarray(promo[len(y):n_all], dtype=float)
    # MAP by L-BFGS from Prophet's own initial values is deterministic; the seed pins the rest (same events,
    # same forecast: docs/contract.md §10)
    model.fit(frame.dropna(subset=["y"]), seed=0)
    return np.maximum(model.predict(future)["yhat"].to_numpy(), 0.0)
