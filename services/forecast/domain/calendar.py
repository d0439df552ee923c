"""Calendar inputs of the models: weekday indices and public holidays from the `holidays` package."""

from __future__ import annotations

import datetime
from functools import lru_cache

import holidays
import numpy as np


@lru_cache(maxsize=256)
def _holidays_of_year(country: str, subdivision: str | None, year: int) -> dict[int, str]:
    """Ordinal → holiday name; an unknown country or subdivision has no holidays (not an error)."""
    try:
        days = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except (NotImplementedError, KeyError, ValueError):
        return {}
    return {d.toordinal(): name for d, name in days.items()}


def holiday_names(country: str | None, subdivision: str | None, first: datetime.date,
                  n_days: int) -> dict[datetime.date, str]:
    """Public holidays between ``first`` and ``first + n_days - 1`` inclusive."""
    if not country or n_days <= 0:
        return {}
    last = first + datetime.timedelta(days=n_days - 1)
    out: dict[datetime.date, str] = {}
    for year in range(first.year, last.year + 1):
        for ordinal, name in _holidays_of_year(country, subdivision, year).items():
            day = datetime.date.fromordinal(ordinal)
            if first <= day <= last:
                out[day] = name
    return out


def holiday_ids(country: str | None, subdivision: str | None, first: datetime.date, n_days: int,
                registry: dict[str, int]) -> np.ndarray:
    """Holiday id per day over ``n_days`` days from ``first`` (0 = none); ``registry`` numbers names."""
    ids = np.zeros(max(n_days, 0), dtype=int)
    for day, name in holiday_names(country, subdivision, first, n_days).items():
        ids[(day - first).days] = registry.setdefault(name, len(registry) + 1)
    return ids


def weekdays(first: datetime.date, n_days: int) -> np.ndarray:
    """Weekday index (Monday 0) of ``n_days`` consecutive days from ``first``."""
    return (first.weekday() + np.arange(n_days)) % 7
