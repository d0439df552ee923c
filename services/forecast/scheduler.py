"""The re-forecast loop: claim due series, fit them in a process pool off the event loop, publish."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from services.forecast import repository as repo
from services.forecast.domain import SeriesForecast, SeriesHistory, censor_stockouts, forecast_batch
from services.forecast.settings import ForecastSettings
from shared.events.topics import DEMAND
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)


def build_history(row: Any, days: list[Any], locations: dict, promos: list[Any], horizon: int) -> SeriesHistory:
    """Zero-filled daily demand from the first to the last day seen; stockout days are censored (NaN)."""
    n = (row.last_day - row.first_day).days + 1
    demand, in_stock = np.zeros(n), np.ones(n, dtype=bool)
    for d in days:
        i = (d.day - row.first_day).days
        if 0 <= i < n:
            demand[i], in_stock[i] = d.quantity, not d.stockout
    promo = np.zeros(n + horizon)
    for p in promos:
        if p.sku == row.sku and p.location in ("*", row.location):
            lo, hi = max((p.start - row.first_day).days, 0), min((p.end - row.first_day).days + 1, n + horizon)
            promo[lo:hi] = 1
    loc = locations.get(row.location, {})
    return SeriesHistory(key=f"{row.location}:{row.sku}", start=row.first_day,
                         demand=censor_stockouts(demand, in_stock), promo=promo if promo.any() else None,
                         country=loc.get("country"), subdivision=loc.get("subdivision"))


def apply_overrides(fc: SeriesForecast, overrides: list[Any]) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """A planner's override replaces or scales the daily mean on its days; quantiles move with it."""
    mean, qs = fc.mean.copy(), {q: v.copy() for q, v in fc.quantiles.items()}
    for o in overrides:
        for i in range(len(mean)):
            day = fc.start + timedelta(days=i)
            if o.start <= day <= o.end:
                factor = o.multiplier if o.multiplier is not None else (o.quantity / mean[i] if mean[i] > 0 else None)
                if factor is None:
                    mean[i] = o.quantity
                    for q in qs:
                        qs[q][i] = o.quantity
                    continue
                mean[i] *= factor
                for q in qs:
                    qs[q][i] *= factor
    return mean, qs


def live_accuracy(logs: list[Any], actual: dict[date, float]) -> dict[str, float | None]:
    """WAPE and bias of past forecasts against the actuals that have since arrived (latest forecast per day)."""
    made: dict[date, float] = {}
    for entry in logs:  # ordered by as_of: later forecasts overwrite earlier ones for the same day
        for i, mean in enumerate(entry.means):
            made[entry.as_of + timedelta(days=i + 1)] = mean
    pairs = [(actual[d], f) for d, f in made.items() if d in actual]
    if not pairs:
        return {}
    a, f = np.array(pairs).T
    total = a.sum()
    return {"wape": float(np.abs(a - f).sum() / total) if total > 0 else None,
            "bias": float((f.sum() - total) / total) if total > 0 else None, "days": len(pairs)}


class Forecaster:
    def __init__(self, runtime: ServiceRuntime, settings: ForecastSettings) -> None:
        self.runtime, self.settings = runtime, settings
        self.pool: ProcessPoolExecutor | None = None

    async def run(self, _: ServiceRuntime, stop: asyncio.Event) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding sockets and threads
        self.pool = ProcessPoolExecutor(max_workers=self.settings.workers, mp_context=ctx)
        try:
            while not stop.is_set():
                done = await self.forecast_due()
                if done == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.settings.poll_s)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def forecast_due(self) -> int:
        async with self.runtime.uow() as uow:
            claimed = await repo.claim_due(uow.session, self.settings.batch_size, self.settings.quiet_s)
            if not claimed:
                return 0
            keys = [(r.location, r.sku) for r in claimed]
            days = await repo.demand_rows(uow.session, keys)
            locations = await repo.master_data(uow.session, "location", {r.location for r in claimed})
            promos = await repo.promotions_for(uow.session, {r.sku for r in claimed})
            horizon = self.settings.horizon_days
            batch = [build_history(r, days[(r.location, r.sku)], locations, promos, horizon) for r in claimed]
            results = await asyncio.get_running_loop().run_in_executor(
                self.pool, _fit, batch, horizon, self.settings.prophet_flag)
            await self._publish(uow, claimed, results, days)
        return len(claimed)

    async def _publish(self, uow, claimed: list[Any], results: list[SeriesForecast], days: dict) -> None:
        now = datetime.now(UTC)
        keys = [(r.location, r.sku) for r in claimed]
        overrides = await repo.active_overrides(uow.session, keys, now)
        logs = await repo.logs_since(uow.session, keys, min(r.last_day for r in claimed) - timedelta(days=60))
        for row, fc in zip(claimed, results, strict=True):
            key = (row.location, row.sku)
            mean, qs = apply_overrides(fc, [o for o in overrides if (o.location, o.sku) == key])
            actual = {d.day: d.quantity for d in days[key] if not d.stockout}
            live = live_accuracy([lg for lg in logs if (lg.location, lg.sku) == key], actual)
            payload = forecast_payload(row, fc, mean, qs, now, live)
            baseline = sum(v for d, v in actual.items() if d > row.last_day - timedelta(days=28))
            await repo.save_forecast(uow.session, row.location, row.sku, row.last_day, now, payload,
                                     [float(x) for x in mean], baseline)
            await uow.publish(DEMAND, key=f"{row.location}:{row.sku}", type="replenish.forecast.demand",
                              time=datetime.combine(row.last_day, datetime.min.time(), tzinfo=UTC), data=payload)


def forecast_payload(row: Any, fc: SeriesForecast, mean: np.ndarray, qs: dict[float, np.ndarray],
                     now: datetime, live: dict) -> dict[str, Any]:
    horizon = [{"date": (fc.start + timedelta(days=i)).isoformat(), "mean": round(float(mean[i]), 4),
                "p10": round(float(qs[0.1][i]), 4), "p50": round(float(qs[0.5][i]), 4),
                "p90": round(float(qs[0.9][i]), 4)} for i in range(len(mean))]
    accuracy = {k: _finite(v) for k, v in fc.accuracy.items()}
    return {"sku": row.sku, "location": row.location, "model": fc.model, "demand_class": fc.demand_class,
            "as_of": row.last_day.isoformat(), "generated_at": now.isoformat(), "horizon": horizon,
            "residual_std": _finite(fc.residual_std), "accuracy": accuracy, "live_accuracy": live,
            "low_confidence": bool(fc.low_confidence),
            "quantiles": {str(q): [round(float(x), 4) for x in v] for q, v in qs.items()
                          if q not in (0.1, 0.5, 0.9)}}


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _fit(batch: list[SeriesHistory], horizon: int, use_prophet: Any) -> list[SeriesForecast]:
    return forecast_batch(batch, horizon=horizon, use_prophet=use_prophet)
