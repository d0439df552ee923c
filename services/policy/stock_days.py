"""End-of-day on-hand per SKU-location and day, rebuilt from the ledger and the counts, and the §11 stock figures
over it (in-stock rate, stockout days, estimated fill rate, inventory value and turns). Pure: no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import fmean
from typing import Any


@dataclass
class KeyDays:
    """What the ledger says about one key up to the window's end, by the location's local days.

    `before` is the sum of movements before the window, `moves` the sum per window day. Each anchor is a count
    as (local day, count − the sum of every movement up to the count's instant), oldest first: the on-hand at any
    later instant t is then anchor + Σ movements up to t, and at an earlier one the same (walking back from the
    count), so a count governs the days from it to the next count and, the first one, the days before it."""

    location: str
    sku: str
    first: date | None = None
    before: float = 0.0
    moves: dict[date, float] = field(default_factory=dict)
    anchors: list[tuple[date, float]] = field(default_factory=list)
    sold: dict[date, float] = field(default_factory=dict)
    unit_cost: float | None = None
    daily_demand: float | None = None

    def note_move(self, day: date, delta: float, first: date, start: date) -> None:
        self.first = first if self.first is None else min(self.first, first)
        if day < start:
            self.before += delta
        else:
            self.moves[day] = self.moves.get(day, 0.0) + delta

    def note_anchor(self, day: date, offset: float) -> None:
        self.anchors.append((day, offset))
        self.first = day if self.first is None else min(self.first, day)


def end_of_day_on_hand(key: KeyDays, start: date, end: date) -> list[tuple[date, float]]:
    """(day, on-hand at its end) for each day of [start, end] from the key's first day on; a key with no count
    starts from zero, as policy's own on-hand does."""
    if key.first is None:
        return []
    cumulative, out, governing, i = key.before, [], None, 0
    day = start
    while day < key.first:  # days before the key existed: their movements are in `before` already
        cumulative += key.moves.get(day, 0.0)
        day += timedelta(days=1)
    while day <= end:
        cumulative += key.moves.get(day, 0.0)
        while i < len(key.anchors) and key.anchors[i][0] <= day:
            governing, i = key.anchors[i][1], i + 1
        offset = governing if governing is not None else (key.anchors[0][1] if key.anchors else 0.0)
        out.append((day, cumulative + offset))
        day += timedelta(days=1)
    return out


@dataclass
class StockTally:
    key_days: int = 0
    in_stock_days: int = 0
    served: float = 0.0
    estimated_lost: float = 0.0
    cost_of_goods_sold: float = 0.0
    inventory_value_days: float = 0.0  # Σ over key-days of max(on-hand, 0) × unit cost
    keys_without_cost: int = 0

    def add(self, key: KeyDays, days: list[tuple[date, float]]) -> None:
        if not days:
            return
        sold = [key.sold.get(d, 0.0) for d, _ in days]
        open_days = [s for (_, on_hand), s in zip(days, sold, strict=True) if on_hand > 0]
        # lost demand on a censored day (no stock at its end): what the key sells on a day with stock, less what
        # it sold that day; without any such day in the window, the position's daily demand
        rate = fmean(open_days) if open_days else (key.daily_demand or 0.0)
        self.key_days += len(days)
        self.in_stock_days += len(open_days)
        self.served += sum(sold)
        self.estimated_lost += sum(max(rate - s, 0.0) for (_, on_hand), s in zip(days, sold, strict=True)
                                   if on_hand <= 0)
        if key.unit_cost is None:
            self.keys_without_cost += 1
            return
        self.cost_of_goods_sold += sum(sold) * key.unit_cost
        self.inventory_value_days += sum(max(on_hand, 0.0) for _, on_hand in days) * key.unit_cost

    def figures(self, window_days: int) -> dict[str, Any]:
        mean_value = self.inventory_value_days / window_days if window_days else 0.0
        demand = self.served + self.estimated_lost
        return {
            "sku_location_days": self.key_days, "in_stock_days": self.in_stock_days,
            "stockout_days": self.key_days - self.in_stock_days,
            "in_stock_rate": self.in_stock_days / self.key_days if self.key_days else None,
            "served": self.served, "estimated_lost_demand": self.estimated_lost,
            "estimated_fill_rate": self.served / demand if demand > 0 else None,
            "cost_of_goods_sold": self.cost_of_goods_sold, "mean_inventory_value": mean_value,
            # annualised: the window's cost of goods sold scaled to 365 days over the mean inventory value
            "turns": self.cost_of_goods_sold * 365 / window_days / mean_value if mean_value > 0 else None,
            "keys_without_cost": self.keys_without_cost,
        }
