"""Event clock (docs/contract.md §10): close each location's days oldest first. For a closed day D, forecast the series
due as of D from their history up to D only, then publish their forecasts, forecast's day_closed marker for
(location, D) and the decided day, all in one transaction."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, datetime

from services.forecast import cadence, closing, ledger, metrics
from services.forecast import repository as repo
from services.forecast.models import day_marks, decided_days
from services.forecast.planning import EPOCH, DemandArrays
from services.forecast.scheduler import Forecaster, Round
from shared.events.markers import closed_days, day_end, record_decided
from shared.events.topics import DEMAND, SALES, STOCK
from shared.service import ServiceRuntime

WATCHED = [SALES, STOCK]  # the topics whose ingest markers close a day for forecast


@dataclass(frozen=True)
class DueRow:
    """A series as a closed day's round sees it: its history ends at `last_day` (the day, D)."""

    location: str
    sku: str
    first_day: date
    last_day: date
    out_since: date | None
    last_arrival_at: datetime
    changed_quantity: float
    forecast_as_of: date | None  # the as_of before D, as planned (closing.settle)


def cut(days: DemandArrays, through: date) -> DemandArrays:
    """A stored history without the days after `through` (sales of later days may already be stored)."""
    keep = days.offsets <= (through - EPOCH).days
    return days if keep.all() else DemandArrays(days.offsets[keep], days.quantity[keep], days.stockout[keep])


class DayCloser:
    """The Forecaster's step under REPLENISH_CLOCK=event (instead of its wall-clock rounds)."""

    def __init__(self, forecaster: Forecaster) -> None:
        self.forecaster = forecaster
        self.runtime, self.settings = forecaster.runtime, forecaster.settings

    async def run(self, runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        await self.forecaster.run(runtime, stop, step=self.close_due)

    async def close_due(self) -> int:
        """Lease the locations with a closed day to decide and close a plan's worth of days of each."""
        async with self.runtime.uow() as uow:
            locations = await closing.claim_locations(uow.session, self.settings.lease_s)
        done = 0
        for location in locations:
            try:
                done += await self.close_location(location)
            finally:
                async with self.runtime.uow() as uow:
                    await closing.release_location(uow.session, location)
        return done

    async def close_location(self, location: str) -> int:
        """The location's next closed days, as far as the plan's budget reaches; returns the days decided."""
        s = self.settings
        async with self.runtime.sessionmaker() as session:
            clock, zone = await closing.location_clock(session, location)
            marks = await closed_days(session, day_marks, "ingest", WATCHED, location, clock.decided)
            days = cadence.days_to_decide(clock, marks)
            if not days:
                return 0
            rows = await closing.series_clocks(session, location)
            touches = await closing.promotion_touches(session, location, zone)
        plan = cadence.due_plan(days, closing.as_clocks(rows), touches, s.refit_days, s.batch_size)
        async with self.runtime.uow() as uow:  # every movement up to the plan's last day is consumed: fold them
            await ledger.fold_through(uow.session, location, plan[-1][0])
        rounds = await self._load(location, zone, plan)
        if rounds:
            started = time.perf_counter()
            await self.forecaster._fit_rounds([rnd for _, rnd in rounds])
            metrics.FIT_SECONDS.observe(time.perf_counter() - started)
            metrics.ROUND_SERIES.observe(sum(len(rnd.claimed) for _, rnd in rounds))
        async with self.runtime.uow() as uow:
            for day, _ in plan:
                at = closing.event_instant(day_end(day, zone))
                for rnd in (rnd for d, rnd in rounds if d == day):
                    await self.forecaster._publish(uow, rnd, at)
                    await closing.settle(uow.session, rnd.claimed)
                await uow.publish_marker(DEMAND, stream="forecast", location=location, day=day, time=at)
                await record_decided(uow.session, decided_days, location, day, zone)
        return len(plan)

    async def _load(self, location: str, zone: str, plan: list[tuple[date, list[str]]]) -> list[tuple[date, Round]]:
        """One round per fixed chunk of each day's due series (in SKU order), histories cut at the day."""
        due = sorted({sku for _, skus in plan for sku in skus})
        if not due:
            return []
        out = []
        async with self.runtime.sessionmaker() as session:
            rows = {r.sku: r for r in await closing.series_clocks(session, location)}  # on-hand state after the fold
            arrays = await repo.demand_arrays(session, [(location, sku) for sku in due])
            as_of = {sku: rows[sku].forecast_as_of for sku in due}
            for day, skus in plan:
                known_at = closing.event_instant(day_end(day, zone))
                for part in cadence.chunks(skus, self.settings.day_chunk):
                    rnd = Round([_due_row(rows[sku], day, as_of[sku]) for sku in part])
                    await self.forecaster._load(session, rnd, known_at=known_at, days={
                        (location, sku): cut(arrays[(location, sku)], day) for sku in part})
                    out.append((day, rnd))
                as_of.update(dict.fromkeys(skus, day))
        return out


def _due_row(row, day: date, as_of: date | None) -> DueRow:
    return DueRow(row.location, row.sku, row.first_day, day, row.out_since, row.last_arrival_at,
                  float(row.changed_quantity), as_of)

