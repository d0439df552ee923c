"""The replay's world as docs/contract.md §3 events: master data, the history, and each test day at the shelf."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PROMOTION_NOTICE_DAYS = 28
Key = tuple[str, str]


@dataclass(frozen=True)
class Supply:
    """One series' supplier and its true lead time (the world's, not what the platform is told about σ)."""

    supplier_id: str
    lead_time_days: float
    lead_time_std_days: float = 0.0
    pack_size: float = 1.0
    moq: float = 0.0
    unit_cost: float = 1.0


class Feed:
    """Event builders in the location's time zone; ids are stable, so a re-run posts the same events."""

    def __init__(self, timezone: str, country: str | None) -> None:
        self.zone, self.country = ZoneInfo(timezone), country
        self.timezone = timezone

    def at(self, day: date, hour: int, minute: int = 0, second: int = 0) -> str:
        return datetime.combine(day, time(hour, minute, second), tzinfo=self.zone).isoformat()

    def _event(self, kind: str, source: str, event_id: str, when: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": event_id, "source": f"replay/{source}", "type": kind, "time": when, "data": data}

    def master(self, first: date, locations: Iterable[str], supply: dict[Key, Supply],
               target_fill: float, review_days: float) -> list[dict[str, Any]]:
        """Locations, items, suppliers and their items, and the planner's one global fill-rate target."""
        when = self.at(first, 0)
        out = [self._event("location", "erp", f"location:{loc}", when, {
            "location": loc, "name": loc, "kind": "store", "timezone": self.timezone,
            **({"country": self.country} if self.country else {})}) for loc in sorted(set(locations))]
        for sku in sorted({k[0] for k in supply}):
            s = next(v for k, v in sorted(supply.items()) if k[0] == sku)
            out.append(self._event("item", "erp", f"item:{sku}", when, {
                "sku": sku, "name": sku, "base_unit": "each", "unit_cost": s.unit_cost}))
            out.append(self._event("supplier", "erp", f"supplier:{s.supplier_id}", when, {
                "supplier_id": s.supplier_id, "name": s.supplier_id}))
            # no lead_time_std_days: the platform learns the spread from its receipts
            out.append(self._event("supplier_item", "erp", f"supplier_item:{s.supplier_id}:{sku}", when, {
                "supplier_id": s.supplier_id, "sku": sku, "lead_time_days": s.lead_time_days,
                "pack_size": s.pack_size, "moq": s.moq, "unit_cost": s.unit_cost, "primary": True}))
        out.append(self._event("policy", "planner", "policy:fill-rate", when, {"fill_rate": target_fill,
                                                                                "review_days": review_days}))
        return out

    def stock_count(self, key: Key, day: date, on_hand: float, hour: int, tag: str) -> dict[str, Any]:
        sku, loc = key
        return self._event("stock_count", "wms", f"count:{tag}:{loc}:{sku}:{day}", self.at(day, hour), {
            "sku": sku, "location": loc, "on_hand": on_hand})

    def sale(self, key: Key, day: date, quantity: float) -> dict[str, Any]:
        sku, loc = key
        return self._event("sale", "pos", f"sale:{loc}:{sku}:{day}", self.at(day, 12), {
            "sku": sku, "location": loc, "quantity": quantity})

    def receipt(self, key: Key, day: date, quantity: float, po_id: str) -> dict[str, Any]:
        sku, loc = key
        return self._event("stock_adjustment", "wms", f"receipt:{po_id}:{loc}:{sku}", self.at(day, 6), {
            "sku": sku, "location": loc, "quantity": quantity, "reason": "receipt", "po_id": po_id})

    def day_close(self, location: str, day: date) -> dict[str, Any]:
        return self._event("day_close", "wms", f"close:{location}:{day}", self.at(day, 23, 59, 59), {
            "location": location, "date": day.isoformat()})

    def promotion(self, key: Key, start: date, end: date, announced: date) -> dict[str, Any]:
        sku, loc = key
        return self._event("promotion", "planner", f"promo:{loc}:{sku}:{start}", self.at(announced, 8), {
            "sku": sku, "location": loc, "start": start.isoformat(), "end": end.isoformat()})


def promotion_runs(days: list[date], flags) -> list[tuple[date, date]]:
    """Consecutive promoted days as (start, end) runs."""
    runs, start = [], None
    for day, flag in zip(days, flags, strict=True):
        if flag and start is None:
            start = day
        elif not flag and start is not None:
            runs.append((start, day - timedelta(days=1)))
            start = None
    if start is not None:
        runs.append((start, days[-1]))
    return runs


def announced_on(start: date, first: date) -> date:
    """Promotions are announced 28 days ahead, never before the replay's first day."""
    return max(start - timedelta(days=PROMOTION_NOTICE_DAYS), first)
