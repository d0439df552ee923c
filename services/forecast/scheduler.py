"""The re-forecast loop: lease due series, fit them in a process pool off the event loop, publish. Under the
event clock the loop closes days instead (day_close.DayCloser) with the same load, fit and publish steps."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from services.forecast import metrics
from services.forecast import repository as repo
from services.forecast.domain import SeriesForecast, SeriesHistory
from services.forecast.payload import fit_round, round_histories, series_payload
from services.forecast.planning import (
    PROFILE_DAYS,
    as_day_demand,
    borrowed_profile,
    needs_profile,
    profile_sources,
    round_horizons,
    split_round,
)
from services.forecast.settings import ForecastSettings
from shared.events.envelope import deterministic_id, make_envelope
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

    async def run(self, _: ServiceRuntime, stop: asyncio.Event,
                  step: Callable[[], Awaitable[int]] | None = None) -> None:
        """Loop `step` (default: a wall-clock round of due series) until stop; idle for poll_s when it did nothing."""
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding sockets and threads
        self.pool = ProcessPoolExecutor(max_workers=max(self.settings.workers, 1), mp_context=ctx)
        step = step or self.forecast_due
        try:
            while not stop.is_set():
                try:
                    done = await step()
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

    async def _load(self, session, rnd: Round, *, days: dict | None = None, known_at: datetime | None = None) -> None:
        """Histories, horizons and cold-start profiles of a round. The event clock passes each series' history
        already cut at its day (`days`) and the day's end (`known_at`): promotions announced later and
        other series' later days stay out."""
        s, claimed = self.settings, rnd.claimed
        keys = [(r.location, r.sku) for r in claimed]
        rnd.days = days if days is not None else await repo.demand_arrays(session, keys)
        locations = await repo.master_data(session, "location", {r.location for r in claimed})
        promos = await repo.promotions_for(session, {r.sku for r in claimed}, known_at)
        own = await repo.master_data(session, "item", {r.sku for r in claimed})
        supplier_items, policies = await repo.supply_terms(session, {r.sku for r in claimed})
        rnd.horizons = round_horizons(claimed, own, supplier_items, policies, default=s.horizon_days,
                                      default_review=s.review_days)
        through = None if known_at is None else claimed[0].last_day  # a closed day's round: every row is as of it
        profiles = await self._cold_starts(session, rnd, own, through)
        rnd.histories, rnd.cold = round_histories(claimed, rnd.days, locations, promos, rnd.horizons, profiles)

    async def _cold_starts(self, session, rnd: Round, own: dict, through: date | None = None) -> dict:
        """Borrowed profiles for series with under four weeks of their own history (few per round); under the
        event clock from the sources' days up to `through` only."""
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
            spans = await repo.series_spans(session, r.location, set(sources), through)
            since = min((last for _, last in spans.values()), default=r.last_day) - timedelta(days=PROFILE_DAYS)
            rows = await repo.recent_demand(session, r.location, set(spans), since, through)
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

    async def _fit_rounds(self, rounds: list[Round]) -> None:
        """Event clock: one forecast_batch call per round (a fixed chunk of one closed day), spread over the
        pool; what a series is pooled with never depends on the number of workers."""
        s = self.settings
        loop = asyncio.get_running_loop()
        done = await asyncio.gather(*(loop.run_in_executor(
            self.pool, _fit, rnd.histories, max(rnd.horizons), s.prophet_flag, s.extra_quantiles, s.prophet_budget)
            for rnd in rounds))
        for rnd, results in zip(rounds, done, strict=True):
            rnd.results = results

    async def _publish(self, uow, rnd: Round, at: datetime | None = None) -> None:
        """Store and publish a round's forecasts. Under the event clock `at` (the last instant of the day
        they are as of) stands for now: generated_at, override expiry, the envelope's time and id."""
        now = at or datetime.now(UTC)
        keys = [(r.location, r.sku) for r in rnd.claimed]
        overrides, logs = defaultdict(list), defaultdict(list)
        for o in await repo.active_overrides(uow.session, keys, now):
            overrides[(o.location, o.sku)].append(o)
        since = min(r.last_day for r in rnd.claimed) - timedelta(days=LOG_DAYS)
        before = None if at is None else rnd.claimed[0].last_day
        for entry in await repo.logs_since(uow.session, keys, since, before):
            logs[(entry.location, entry.sku)].append(entry)
        saved, messages = [], []
        for i, (row, fc) in enumerate(zip(rnd.claimed, rnd.results, strict=True)):
            key, history = (row.location, row.sku), rnd.histories[i]
            payload, mean = series_payload(row, fc, history, rnd.horizons[i], overrides[key], logs[key], now,
                                           rnd.cold[i], LOG_DAYS + 28)
            saved.append(repo.Saved(row, payload, [float(x) for x in mean],
                                    float(np.nansum(history.demand[-28:]))))
            key_text = f"{row.location}:{row.sku}"
            env = make_envelope(
                source=uow.source, type="replenish.forecast.demand", subject=key_text, data=payload,
                time=at or datetime.combine(row.last_day, datetime.min.time(), tzinfo=UTC),
                id=None if at is None else deterministic_id("forecast", row.location, row.sku, row.last_day))
            messages.append((DEMAND, key_text, env.to_bytes()))
            metrics.observe(payload)
        await repo.save_forecasts(uow.session, saved, now, release=at is None)
        await uow.publish_batch(messages)


_fit = fit_round  # the pure fit call (payload.py), shared with `replenish simulate`
