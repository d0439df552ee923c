"""The re-forecast loop: lease due series, fit them in a process pool off the event loop, publish."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from services.forecast import metrics
from services.forecast import repository as repo
from services.forecast.domain import SeriesForecast, SeriesHistory, forecast_batch
from services.forecast.payload import (
    apply_overrides,
    build_history,
    forecast_payload,
    live_accuracy,
    recent_actuals,
)
from services.forecast.planning import (
    PROFILE_DAYS,
    as_day_demand,
    borrowed_profile,
    needs_profile,
    profile_sources,
    required_horizon,
    split_round,
)
from services.forecast.settings import ForecastSettings
from shared.events.envelope import make_envelope
from shared.events.topics import DEMAND
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
LOG_DAYS = 60  # live accuracy looks at the forecasts of the last 60 days


@dataclass
class Round:
    """One claimed round: the leased series rows and what was loaded and fitted for them."""

    claimed: list[Any]
    days: dict = field(default_factory=dict)
    horizons: list[int] = field(default_factory=list)
    histories: list[SeriesHistory] = field(default_factory=list)
    cold: list[str] = field(default_factory=list)
    results: list[SeriesForecast] = field(default_factory=list)


class Forecaster:
    def __init__(self, runtime: ServiceRuntime, settings: ForecastSettings) -> None:
        self.runtime, self.settings = runtime, settings
        self.pool: ProcessPoolExecutor | None = None

    async def run(self, _: ServiceRuntime, stop: asyncio.Event) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding sockets and threads
        self.pool = ProcessPoolExecutor(max_workers=max(self.settings.workers, 1), mp_context=ctx)
        try:
            while not stop.is_set():
                try:
                    done = await self.forecast_due()
                except Exception:  # a failed round's leases expire; keep the loop alive
                    log.exception("forecast round failed")
                    done = 0
                if done == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.settings.poll_s)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def forecast_due(self) -> int:
        s = self.settings
        async with self.runtime.uow() as uow:  # short transaction: the lease is visible at once
            claimed = await repo.claim_due(uow.session, s.batch_size, s.quiet_s, s.lease_s)
        if not claimed:
            return 0
        rnd = Round(claimed)
        async with self.runtime.sessionmaker() as session:
            await self._load(session, rnd)
        started = time.perf_counter()
        rnd.results = await self._fit(rnd.histories, max(rnd.horizons))
        metrics.FIT_SECONDS.observe(time.perf_counter() - started)
        metrics.ROUND_SERIES.observe(len(claimed))
        async with self.runtime.uow() as uow:
            await self._publish(uow, rnd)
        return len(claimed)

    async def _load(self, session, rnd: Round) -> None:
        s, claimed = self.settings, rnd.claimed
        keys = [(r.location, r.sku) for r in claimed]
        rnd.days = await repo.demand_arrays(session, keys)
        locations = await repo.master_data(session, "location", {r.location for r in claimed})
        promos = await repo.promotions_for(session, {r.sku for r in claimed})
        own = await repo.master_data(session, "item", {r.sku for r in claimed})
        supplier_items, policies = await repo.supply_terms(session, {r.sku for r in claimed})
        for r in claimed:
            category = (own.get(r.sku) or {}).get("category")
            rnd.horizons.append(required_horizon(r.sku, category, r.location, supplier_items, policies,
                                                 default=s.horizon_days, default_review=s.review_days))
        profiles = await self._cold_starts(session, rnd, own)
        horizon = max(rnd.horizons)
        for r in claimed:
            kind, profile = profiles.get((r.location, r.sku), ("", None))
            rnd.cold.append(kind if profile is not None else "")
            rnd.histories.append(build_history(r, rnd.days[(r.location, r.sku)], locations, promos, horizon,
                                               like_profile=profile))

    async def _cold_starts(self, session, rnd: Round, own: dict) -> dict:
        """Borrowed profiles for series with under four weeks of their own history (few per round)."""
        young = [r for r in rnd.claimed
                 if needs_profile(r.first_day, r.last_day, int(rnd.days[(r.location, r.sku)].stockout.sum()))]
        if not young:
            return {}
        categories = {c for r in young if (c := (own.get(r.sku) or {}).get("category"))}
        items = {**await repo.items_in(session, set(), categories), **own}
        out = {}
        for r in young:
            kind, sources = profile_sources(own.get(r.sku), items)
            if not sources:
                continue
            spans = await repo.series_spans(session, r.location, set(sources))
            since = min((last for _, last in spans.values()), default=r.last_day) - timedelta(days=PROFILE_DAYS)
            rows = await repo.recent_demand(session, r.location, set(spans), since)
            profile = borrowed_profile(as_day_demand(rows), sources, spans, r.last_day + timedelta(days=1))
            out[(r.location, r.sku)] = (kind, profile)
        return out

    async def _fit(self, histories: list[SeriesHistory], horizon: int) -> list[SeriesForecast]:
        """One forecast_batch call per worker, each over a large chunk (the Prophet budget is per call)."""
        s = self.settings
        chunks = split_round(histories, s.workers, s.min_chunk)
        loop = asyncio.get_running_loop()
        done = await asyncio.gather(*(loop.run_in_executor(
            self.pool, _fit, chunk, horizon, s.prophet_flag, s.extra_quantiles, s.prophet_budget)
            for chunk in chunks))
        return [fc for part in done for fc in part]

    async def _publish(self, uow, rnd: Round) -> None:
        now = datetime.now(UTC)
        keys = [(r.location, r.sku) for r in rnd.claimed]
        overrides, logs = defaultdict(list), defaultdict(list)
        for o in await repo.active_overrides(uow.session, keys, now):
            overrides[(o.location, o.sku)].append(o)
        since = min(r.last_day for r in rnd.claimed) - timedelta(days=LOG_DAYS)
        for entry in await repo.logs_since(uow.session, keys, since):
            logs[(entry.location, entry.sku)].append(entry)
        saved, messages = [], []
        for i, (row, fc) in enumerate(zip(rnd.claimed, rnd.results, strict=True)):
            key, history = (row.location, row.sku), rnd.histories[i]
            mean, qs = apply_overrides(fc, overrides[key], rnd.horizons[i])
            live = live_accuracy(logs[key], recent_actuals(history, LOG_DAYS + 28), history.demand)
            payload = forecast_payload(row, fc, mean, qs, now, live, rnd.cold[i])
            saved.append(repo.Saved(row, payload, [float(x) for x in mean],
                                    float(np.nansum(history.demand[-28:]))))
            key_text = f"{row.location}:{row.sku}"
            env = make_envelope(source=uow.source, type="replenish.forecast.demand", subject=key_text,
                                time=datetime.combine(row.last_day, datetime.min.time(), tzinfo=UTC), data=payload)
            messages.append((DEMAND, key_text, env.to_bytes()))
            metrics.observe(payload)
        await repo.save_forecasts(uow.session, saved, now)
        await uow.publish_batch(messages)


def _fit(batch: list[SeriesHistory], horizon: int, use_prophet: Any, quantiles: tuple[float, ...],
         budget: int) -> list[SeriesForecast]:
    return forecast_batch(batch, horizon=horizon, quantiles=quantiles, use_prophet=use_prophet,
                          prophet_budget=budget)
