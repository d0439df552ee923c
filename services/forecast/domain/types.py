"""Value objects passed between the forecast service and its pure forecasting core."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SeriesHistory:
    """Daily demand of one SKU-location; ``demand[0]`` is the demand of ``start``."""

    key: str
    start: datetime.date
    demand: np.ndarray
    promo: np.ndarray | None = None
    country: str | None = None
    subdivision: str | None = None
    like_profile: np.ndarray | None = None
    floor: np.ndarray | None = None  # sales of each censored day (NaN elsewhere): a lower bound of its demand

    @property
    def end(self) -> datetime.date:
        """Last day of history (the day before ``start`` for an empty history)."""
        return self.start + datetime.timedelta(days=len(self.demand) - 1)


@dataclass(frozen=True)
class SeriesForecast:
    """Daily forecast of one SKU-location from ``start`` (the day after history ends)."""

    key: str
    model: str
    demand_class: str
    start: datetime.date
    mean: np.ndarray
    quantiles: dict[float, np.ndarray]
    residual_std: float
    accuracy: dict[str, float | None]
    low_confidence: bool
    # σ on days without and with a promotion (spread.regime_std), so policy gives a protection period the
    # spread of its own days; None when the backtest saw no promotion (residual_std for every day)
    regular_std: float | None = None
    promo_std: float | None = None
