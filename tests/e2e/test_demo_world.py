"""The demo's world without a platform (fast, no I/O): the shelf, its events, the clock and the history."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from replenish.demo.live import Delivery, Store
from replenish.demo.world import (
    CATALOGUE,
    STORES,
    SUPPLIERS,
    ZONE,
    Clock,
    Settings,
    World,
    at,
    build,
    first_count,
    history_events,
)

KEY = ("SKU-1001", "store-sh-01")
LIVE = date(2026, 3, 2)


def _world(demand: list[float], opening: float) -> World:
    days = [0.0] * 60 + demand + [0.0] * 5
    return World([KEY], {p.sku: p for p in CATALOGUE}, LIVE - timedelta(days=60), LIVE, 60,
                 {KEY: np.array(days)}, {KEY: np.zeros(len(days))}, {KEY: None}, {KEY: opening}, "t")


def _sold(events: list[dict]) -> float:
    return sum(e["data"]["quantity"] for e in events if e["type"] == "sale")


def test_the_pos_reports_only_what_the_shelf_served_and_each_day_closes_after_its_sales():
    store = Store(_world([5.0, 0.0], opening=3), Settings(), at(LIVE, 0))
    events = store.step(at(LIVE, 23, 59, 59))
    assert _sold(events) == 3 and store.shelf.on_hand(KEY) == 0  # two customers went away: not reported
    row = store.rows()[0]
    assert (row["demand"], row["served"]) == (5.0, 3.0)
    closes = [i for i, e in enumerate(events) if e["type"] == "day_close"]
    assert len(closes) == len(STORES) and max(i for i, e in enumerate(events) if e["type"] == "sale") < min(closes)
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    assert store.stockout_share() == 1.0


def test_a_delivery_lands_on_the_shelf_as_a_receipt_with_its_po():
    store = Store(_world([0.0, 4.0], opening=0), Settings(), at(LIVE, 0))
    store.step(at(LIVE, 23, 59, 59))
    store.deliver(Delivery(at(LIVE + timedelta(days=1), 6), "PO-1", KEY, 12.0))
    events = store.step(at(LIVE + timedelta(days=1), 23, 0))
    receipt = next(e for e in events if e["type"] == "stock_adjustment")
    assert receipt["data"] == {"sku": KEY[0], "location": KEY[1], "quantity": 12.0, "reason": "receipt",
                               "po_id": "PO-1"}
    assert _sold(events) == 4 and store.shelf.on_hand(KEY) == 8


def test_the_clock_runs_compressed_until_it_meets_the_wall_clock():
    clock = Clock(datetime.now(UTC).astimezone(ZONE) - timedelta(days=2), day_s=20)
    assert clock.at(clock.started_at + timedelta(seconds=10)) == clock.start + timedelta(hours=12)
    later = clock.started_at + timedelta(seconds=200)  # 10 demo days after a start 2 days ago: past now
    assert clock.at(later) == later.astimezone(ZONE)
    assert clock.at(clock.started_at - timedelta(seconds=5)) == clock.start


def test_the_history_starts_counted_closes_every_day_and_ends_at_the_opening_count():
    settings = Settings(live_days=10, history_days=20)
    world = build(settings, datetime(2026, 5, 20, 12, tzinfo=UTC))
    assert world.live_start == date(2026, 5, 10) and world.first == date(2026, 4, 20)
    for key in world.keys:
        lead = SUPPLIERS[world.products[key[0]].supplier][0]
        assert world.opening[key] >= max(world.products[key[0]].pack, world.history(key)[-28:].mean() * lead)
        assert first_count(world)[key] == world.history(key).sum() + world.opening[key] + 1
    events = history_events(world)
    closes = [e for e in events if e["type"] == "day_close"]
    assert len(closes) == len(STORES) * 20 and closes[-1]["time"] == at(date(2026, 5, 9), 23, 59, 59).isoformat()
    openings = [e for e in events if e["type"] == "stock_count"]
    assert len(openings) == len(world.keys) and {e["time"] for e in openings} == {at(world.live_start, 0).isoformat()}
    assert all(e["time"] < at(world.live_start, 0).isoformat() for e in events if e["type"] == "sale")
