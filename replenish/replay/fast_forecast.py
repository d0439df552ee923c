"""`replenish simulate`'s forecast side: the forecast service's event-clock loop over the replay's world, in process.

The same pure code as `services/forecast` under REPLENISH_CLOCK=event (docs/forecast.md, "Event clock and closed
days"): which series are due on each closed day (`cadence.due_plan`: first forecast, every REFIT_DAYS, or a
promotion announced since), the day's due series in SKU order cut in chunks of DAY_CHUNK (`cadence.chunks`), each
chunk's histories up to the day only (`planning.round_horizons`, `payload.round_histories`: stockout days censored,
promotions known by the day's end, the location's holidays), one `payload.fit_round` call per chunk and each
series' published payload (`payload.series_payload`). Policy reads a forecast as arrays
(`assemble.horizon_arrays`), exactly what it would read from the payload.

What a replay never has is left out: overrides (none are posted), cold-start profiles (replayed items carry no
`like_sku` or category) and live accuracy (the payload's `accuracy` fields only; policy never reads them).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from services.forecast.cadence import SeriesClock, chunks, due_plan
from services.forecast.closing import event_instant
from services.forecast.payload import fit_round, round_histories, series_payload
from services.forecast.planning import EPOCH, DemandArrays, round_horizons
from services.forecast.scheduler import LOG_DAYS
from services.forecast.settings import ForecastSettings
from services.policy.domain.assemble import Horizon, horizon_arrays
from shared.events.markers import day_end

Key = tuple[str, str]  # (sku, location), the replay's key


@dataclass(frozen=True)
class SeriesRow:
    """A due series as the round sees it (day_close.DueRow's fields that the pure functions read)."""

    location: str
    sku: str
    first_day: date
    last_day: date
    out_since: date | None = None


@dataclass(frozen=True)
class PromoRow:
    """A promotion as forecast stores it (repository.promotions_for): its SKU, location and days."""

    sku: str
    location: str
    start: date
    end: date
    announced: date  # the local day of its announcement (the event's time)


@dataclass(frozen=True)
class Forecast:
    """What policy reads of a published forecast: the horizon as arrays, residual_std, the model and the σ on
    days without and with a promotion."""

    as_of: date
    horizon: Horizon
    residual_std: float | None
    model: str
    regimes: tuple[float | None, float | None] = (None, None)


@dataclass(frozen=True)
class FitJob:
    """One forecast_batch call: a chunk of one location's series due on `day`, with all it reads."""

    location: str
    day: date
    rows: list[SeriesRow]
    days: dict[tuple[str, str], DemandArrays]  # (location, sku) → history up to `day`
    locations: dict[str, dict]
    promos: list[PromoRow]
    items: dict[str, dict]
    supplier_items: list[dict]
    policies: list[dict]
    timezone: str


@dataclass(frozen=True)
class Settings:
    """The forecast settings a fit reads (picklable for the worker processes)."""

    horizon_days: int
    review_days: float
    prophet: Any
    quantiles: tuple[float, ...]
    budget: int
    refit_days: int
    day_chunk: int

    @classmethod
    def of(cls, s: ForecastSettings) -> Settings:
        return cls(s.horizon_days, s.review_days, s.prophet_flag, s.extra_quantiles, s.prophet_budget,
                   s.refit_days, s.day_chunk)


def run_fit(job: FitJob, s: Settings) -> list[tuple[str, Forecast]]:
    """The forecast service's round for one chunk (DayCloser._load, _fit_rounds, _publish without I/O): each
    series' forecast as of the job's day, as policy reads it."""
    horizons = round_horizons(job.rows, job.items, job.supplier_items, job.policies, default=s.horizon_days,
                              default_review=s.review_days)
    histories, cold = round_histories(job.rows, job.days, job.locations, job.promos, horizons, {})
    results = fit_round(histories, max(horizons), s.prophet, s.quantiles, s.budget)
    now = event_instant(day_end(job.day, job.timezone))
    out = []
    for row, fc, history, horizon, kind in zip(job.rows, results, histories, horizons, cold, strict=True):
        payload, _ = series_payload(row, fc, history, horizon, [], [], now, kind, LOG_DAYS + 28)
        out.append((row.sku, Forecast(job.day, horizon_arrays(payload["horizon"]), payload["residual_std"],
                                      payload["model"],
                                      (payload["residual_std_regular"], payload["residual_std_promo"]))))
    return out


class Plan:
    """The cadence of every location's series over the replay's days, and which fits the simulation needs.

    Every series starts on the first history day (the replay's history count is stamped there), so due_plan
    over all days from it is what forecast decides day by day. Before the test window only the chunks holding a
    series' last forecast before the first test day are fitted (policy never reads the others); in it, every
    day's chunks but the last day's (its forecasts would be read the day after the replay ends).
    """

    def __init__(self, keys: Sequence[Key], days: list[date], first_test: date, touches: Mapping[Key, list[date]],
                 s: Settings) -> None:
        self.due: dict[tuple[str, date], list[list[str]]] = {}  # (location, day) → the day's chunks of SKUs
        self.needed: dict[tuple[str, date], list[int]] = {}  # (location, day) → chunks to fit
        by_location: dict[str, list[str]] = {}
        for sku, loc in keys:
            by_location.setdefault(loc, []).append(sku)
        last = days[-1]
        for loc, skus in sorted(by_location.items()):
            clocks = [SeriesClock(sku, days[0], None) for sku in sorted(skus)]
            loc_touches = {sku: sorted(touches.get((sku, loc), ())) for sku in skus}
            latest: dict[str, tuple[date, int]] = {}
            for day, due in due_plan(days, clocks, loc_touches, s.refit_days, sys.maxsize):
                if not due:
                    continue
                parts = chunks(due, s.day_chunk)
                self.due[(loc, day)] = parts
                if day >= first_test:
                    if day < last:
                        self.needed[(loc, day)] = list(range(len(parts)))
                    continue
                for i, part in enumerate(parts):
                    for sku in part:
                        latest[sku] = (day, i)
            for day, i in sorted(set(latest.values())):
                self.needed.setdefault((loc, day), []).append(i)

    def size(self) -> int:
        """Series-forecasts to fit."""
        return sum(len(self.due[key][i]) for key, parts in self.needed.items() for i in parts)

    def history_jobs(self, first_test: date) -> list[tuple[str, date, list[str]]]:
        return [(loc, day, self.due[(loc, day)][i]) for (loc, day), parts in sorted(self.needed.items())
                if day < first_test for i in parts]

    def jobs_on(self, day: date) -> list[tuple[str, list[str]]]:
        return [(loc, self.due[(loc, d)][i]) for (loc, d), parts in sorted(self.needed.items()) if d == day
                for i in parts]


class History:
    """The forecast service's daily_demand: sales per series and day, and the censored (stockout) days."""

    def __init__(self, keys: Sequence[Key], days: list[date], history: Mapping[Key, np.ndarray]) -> None:
        self.index = {k: i for i, k in enumerate(keys)}
        self.first = days[0]
        self.offset0 = (days[0] - EPOCH).days
        self.sales = np.zeros((len(keys), len(days)))
        self.censored = np.zeros((len(keys), len(days)), dtype=bool)
        self.out_since: dict[Key, date | None] = dict.fromkeys(keys)
        for k, i in self.index.items():
            self.sales[i, :len(history[k])] = history[k]

    def arrays(self, key: Key, through: date) -> DemandArrays:
        """The series' stored days up to `through` (day_close.cut): every day, zero where nothing sold."""
        n = (through - self.first).days + 1
        i = self.index[key]
        return DemandArrays(np.arange(self.offset0, self.offset0 + n), self.sales[i, :n].copy(),
                            self.censored[i, :n].copy())
