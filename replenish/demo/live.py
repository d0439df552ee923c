"""The live shelf: the demo POS sells from the true on-hand it keeps (a lost sale is never reported), the WMS
counts now and then and closes each day, and the supplier's deliveries land on it as receipts."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from replenish.demo.world import STORES, Settings, World, at, day_close, event, promotions
from replenish.replay.dataset import Key
from replenish.replay.world import Shelf

OPENS, TRADING_HOURS, COUNT_HOUR = 8, 14, 22  # customers arrive 08:00–22:00; counts at 22:00
Happening = tuple[datetime, int, str, Any]  # (time, order at one instant, kind, what)


@dataclass(frozen=True)
class Delivery:
    due: datetime  # demo time the goods reach the store
    po_id: str
    key: Key
    quantity: float


class Store:
    """Everything that happens at the four stores between two ticks, in time order, as §3 events."""

    def __init__(self, world: World, settings: Settings, start: datetime) -> None:
        self.world, self.settings = world, settings
        self.shelf = Shelf(world.opening)
        self.last = start
        self.deliveries: list[Delivery] = []
        self.announced = [(d, e) for d, e in promotions(world) if d >= world.live_start]
        self.opened: set[date] = set()
        self._arrivals: dict[date, list[tuple[datetime, Key]]] = {}
        self._sales = 0

    def deliver(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)

    def step(self, now: datetime) -> list[dict[str, Any]]:
        """Move the shelf from the last step to `now`; the events the POS and the WMS report for it."""
        start, self.last = self.last, max(now, self.last)
        if now <= start:
            return []
        happenings: list[Happening] = []
        due = [d for d in self.deliveries if d.due <= now]
        self.deliveries = [d for d in self.deliveries if d.due > now]
        happenings += [(_after_close(max(d.due, start)), 0, "receipt", d) for d in due]
        day = start.date()
        while day <= now.date():
            happenings += [(t, 1, "customer", key) for t, key in self._day_arrivals(day) if start < t <= now]
            happenings += [h for h in self._day_marks(day) if start < h[0] <= now]
            day += timedelta(days=1)
        happenings.sort(key=lambda h: (h[0], h[1]))
        return self._apply(happenings)

    def _day_marks(self, day: date) -> list[Happening]:
        """Promotions announced that day (08:00), the WMS's counts (22:00) and each store's day close."""
        marks: list[Happening] = [(at(day, 8), 0, "promotion", e) for d, e in self.announced if d == day]
        every = self.settings.count_every_days
        marks += [(at(day, COUNT_HOUR), 2, "count", key) for i, key in enumerate(self.world.keys)
                  if (i + day.toordinal()) % every == 0]
        marks += [(at(day, 23, 59, 59), 3, "close", loc) for loc in STORES]
        return marks

    def _day_arrivals(self, day: date) -> list[tuple[datetime, Key]]:
        """Each unit of the day's true demand as one customer at a random time of the trading day."""
        if day not in self._arrivals:
            self._arrivals = {d: a for d, a in self._arrivals.items() if d >= day - timedelta(days=1)}
            opens, out = at(day, OPENS), []
            for key in self.world.keys:
                rng = random.Random(f"{self.settings.seed}|{key[0]}|{key[1]}|{day}")
                out += [(opens + timedelta(hours=rng.uniform(0, TRADING_HOURS)), key)
                        for _ in range(int(self.world.demand_on(key, day)))]
            self._arrivals[day] = sorted(out)
        return self._arrivals[day]

    def _open(self, day: date) -> None:
        """A ledger row for every series and day, so end-of-day on-hand exists also without demand."""
        if day not in self.opened:
            self.opened.add(day)
            for key in self.world.keys:
                self.shelf.serve(key, 0.0, day)

    def _apply(self, happenings: list[Happening]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        sold: dict[tuple[Key, date], tuple[datetime, float]] = {}
        for when, _, kind, what in happenings:
            day = when.date()
            self._open(day)
            if kind == "customer":
                if self.shelf.serve(what, 1.0, day) > 0:
                    sold[(what, day)] = (when, sold.get((what, day), (when, 0.0))[1] + 1.0)
                continue
            events += self._flush(sold)  # the tills report before anything later is booked
            if kind == "receipt":
                self.shelf.receive(what.key, what.quantity, day)
                events.append(self._receipt(what, when))
            elif kind == "promotion":
                events.append(what)
            elif kind == "count":
                events.append(event(self.world, "stock_count", "wms", f"count:{what[1]}:{what[0]}:{day}", when, {
                    "sku": what[0], "location": what[1], "on_hand": self.shelf.on_hand(what)}))
            else:
                events.append(day_close(self.world, what, day))
        return events + self._flush(sold)

    def _receipt(self, d: Delivery, when: datetime) -> dict[str, Any]:
        sku, loc = d.key
        return event(self.world, "stock_adjustment", "wms", f"receipt:{d.po_id}:{loc}:{sku}", when, {
            "sku": sku, "location": loc, "quantity": d.quantity, "reason": "receipt", "po_id": d.po_id})

    def _flush(self, sold: dict[tuple[Key, date], tuple[datetime, float]]) -> list[dict[str, Any]]:
        """What the tills sold so far, one sale per series and day, at the time of its last customer."""
        out = []
        for ((sku, loc), _), (when, qty) in sorted(sold.items(), key=lambda kv: kv[1][0]):
            self._sales += 1
            out.append(event(self.world, "sale", f"pos/{loc}", f"sale:{loc}:{sku}:{self._sales}", when, {
                "sku": sku, "location": loc, "quantity": qty}))
        sold.clear()
        return out

    # what the shelf says, for the summary and the scores
    def stockout_share(self) -> float:
        return sum(1 for k in self.world.keys if self.shelf.on_hand(k) <= 0) / len(self.world.keys)

    def rows(self, before: date | None = None) -> list[dict[str, Any]]:
        """Ledger rows of the live days (before `before`, when given)."""
        return [r for r in self.shelf.ledger() if r["date"] >= self.world.live_start
                and (before is None or r["date"] < before)]


def _after_close(when: datetime) -> datetime:
    """A time in the last second of a day, after its close, is moved to the next day's start."""
    if (when.hour, when.minute, when.second) == (23, 59, 59):
        return at(when.date() + timedelta(days=1), 0)
    return when


def fill(rows: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(fill, served, demand) of ledger rows; no demand yet is a fill of 1."""
    demand = sum(r["demand"] for r in rows)
    served = sum(r["served"] for r in rows)
    return (served / demand if demand else 1.0), served, demand
