"""Play the world through the live platform, day by day, and keep the true ledger (docs/contract.md §9)."""
from __future__ import annotations

import asyncio
import time as clock
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from replenish.replay.dataset import Key, Selection
from replenish.replay.feed import Feed, Supply, announced_on, promotion_runs
from replenish.replay.platform_io import PlatformIO
from replenish.replay.world import Shelf, lead_draw

COUNT_EVERY = 7  # a stock count of every series every 7th test day at 22:00
CALLS = 8  # the planner's and the supplier's HTTP calls in flight at once


@dataclass
class Played:
    """What the platform did, as the world saw it."""

    shelf: Shelf
    history_purchase_orders: int = 0
    purchase_orders: set[str] = field(default_factory=set)
    reorders: list[dict[str, Any]] = field(default_factory=list)
    pos: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds: history, test days
    planned: tuple[Any, Any] | None = None  # bias.period_sums (planned, true) per key, where the mode measures it


@dataclass(frozen=True)
class Settings:
    seed: int
    approve: str  # planner | auto
    timezone: str
    country: str | None
    target_fill: float
    review_days: float


class Driver:
    def __init__(self, io: PlatformIO, sel: Selection, supply: dict[Key, Supply], settings: Settings,
                 progress: Callable[[str, int], None] = lambda what, n: None) -> None:
        self.io, self.sel, self.supply, self.settings, self.progress = io, sel, supply, settings, progress
        self.feed = Feed(settings.timezone, settings.country)
        self.zone = ZoneInfo(settings.timezone)
        self.arrivals: dict[date, list[tuple[Key, float, str]]] = defaultdict(list)
        self.played = Played(Shelf(sel.opening))
        self.promotions = self._promotions()
        self.series = set(sel.keys)

    def end_of(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)

    async def run(self) -> Played:
        started = clock.monotonic()
        await self.history()
        self.played.phases["history_s"] = round(clock.monotonic() - started, 1)
        for index, day in enumerate(self.sel.test_days):
            await self.test_day(index, day)
            self.progress("day", 1)
        self.played.phases["test_days_s"] = round(clock.monotonic() - started - self.played.phases["history_s"], 1)
        self.played.reorders = await self.io.reorders()
        self.played.pos = await self.io.purchase_orders()
        return self.played

    async def history(self) -> None:
        """Master data, one count that keeps every history day uncensored, the history's sales closed day by
        day; then every PO the history made is cancelled and counted."""
        days, keys = self.sel.history_days, self.sel.keys
        events = self.feed.master(days[0], {k[1] for k in keys}, self.supply, self.settings.target_fill,
                                  self.settings.review_days)
        for key in keys:
            total = float(self.sel.history[key].sum()) + self.sel.opening[key] + 1
            events.append(self.feed.stock_count(key, days[0], total, 0, "history"))
        for i, day in enumerate(days):
            events += self._announced(day)
            events += [self.feed.sale(key, day, float(self.sel.history[key][i])) for key in keys
                       if self.sel.history[key][i] > 0]
            events += [self.feed.day_close(loc, day) for loc in sorted({k[1] for k in keys})]
            if i == 0:  # the first day alone: every service then knows the feed closes its days (docs/clock.md)
                await self.io.post_events(events)
                await self.io.wait_decided(self.end_of(day), timeout=600)
                events = []
        await self.io.post_events(events)
        await self.io.wait_decided(self.end_of(days[-1]), timeout=1800)
        for po in await self.io.purchase_orders():
            if po["status"] not in ("cancelled", "rejected", "received"):
                await self.io.cancel(po["po_id"])
            self.played.history_purchase_orders += 1
        self.progress("history", len(days))

    async def test_day(self, index: int, day: date) -> None:
        events, shelf = [], self.played.shelf
        if index == 0:
            events += [self.feed.stock_count(k, day, self.sel.opening[k], 0, "opening") for k in self.sel.keys]
        for key, qty, po_id in sorted(self.arrivals.pop(day, [])):
            shelf.receive(key, qty, day)
            events.append(self.feed.receipt(key, day, qty, po_id))
        events += self._announced(day)
        for key in self.sel.keys:
            served = shelf.serve(key, float(self.sel.test[key][index]), day)
            if served > 0:
                events.append(self.feed.sale(key, day, served))
        if (index + 1) % COUNT_EVERY == 0:
            events += [self.feed.stock_count(k, day, shelf.on_hand(k), 22, "weekly") for k in self.sel.keys]
        events += [self.feed.day_close(loc, day) for loc in sorted({k[1] for k in self.sel.keys})]
        await self.io.post_events(events)
        await self.io.wait_decided(self.end_of(day))
        await self._approve_and_ship(day)

    async def _approve_and_ship(self, day: date) -> None:
        """The planner approves what waits for approval; the supplier acknowledges and ships what was sent. The
        calls of one step run side by side (CALLS at a time): a day of a large replay has hundreds of POs."""
        if self.settings.approve == "planner":
            await self._each([po["po_id"] for po in await self.io.purchase_orders("pending_approval")],
                             self.io.approve)
        for _ in range(200):  # approved POs are sent by orders right after approval
            if not await self.io.purchase_orders("approved"):
                break
            await asyncio.sleep(0.05)
        sent = sorted(await self.io.purchase_orders("sent"), key=lambda po: po["po_id"])
        await self._each([self._ship(po, day) for po in sent], lambda ship: self.io.acknowledge_and_ship(*ship))

    async def _each(self, items: list[Any], call: Callable[[Any], Awaitable[Any]]) -> None:
        gate = asyncio.Semaphore(CALLS)

        async def one(item: Any) -> None:
            async with gate:
                await call(item)
        await asyncio.gather(*(one(item) for item in items))

    def _ship(self, po: dict[str, Any], day: date) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        """The world's side of shipping a sent PO (the list's summary carries its lines): each line's arrival,
        drawn per (series, day); returns what the supplier tells orders (the PO, the promised date, the lines)."""
        lines, latest = [], day
        for line in po["lines"]:
            key = (line["sku"], line["location"])
            s = self.supply.get(key)
            lead = lead_draw(self.settings.seed, key[0], key[1], day, s.lead_time_days if s else 7.0,
                             s.lead_time_std_days if s else 0.0)
            arrival = day + timedelta(days=lead)
            latest = max(latest, arrival)
            qty = float(line["quantity"])
            if key in self.series:
                self.arrivals[arrival].append((key, qty, po["po_id"]))
                self.played.shelf.record_order(key, day, qty)
            lines.append({"sku": key[0], "location": key[1], "quantity": qty})
        self.played.purchase_orders.add(po["po_id"])
        return po, latest.isoformat(), lines

    def _promotions(self) -> dict[date, list[dict[str, Any]]]:
        """Each promoted run of days of each series, announced 28 days ahead (never before the first day)."""
        out: dict[date, list[dict[str, Any]]] = defaultdict(list)
        days = self.sel.history_days + self.sel.test_days
        for series in self.sel.series:
            if series.promo is None:
                continue
            start = len(self.sel.history_days)
            flags = series.promo[self.sel.cut - start:self.sel.cut + len(self.sel.test_days)]
            for first, last in promotion_runs(days, list(flags)):
                out[announced_on(first, days[0])].append(self.feed.promotion(series.key, first, last,
                                                                             announced_on(first, days[0])))
        return out

    def _announced(self, day: date) -> list[dict[str, Any]]:
        return self.promotions.pop(day, [])
