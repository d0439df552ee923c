"""Policy on the event clock (docs/clock.md): a location's day is decided once it is closed, as of its end, on the
real handlers and PostgreSQL — whatever of later days was already applied."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from services.policy import models
from services.policy.batch import apply_batch
from services.policy.settings import policy_settings
from shared.events.envelope import make_envelope
from shared.events.markers import DAY_CLOSED
from shared.events.topics import DEMAND, PURCHASE_ORDERS, REORDERS, SALES, STOCK
from tests.integration.test_policy_flow import PolicyWorld

pytestmark = pytest.mark.integration
DAY0 = date(2025, 3, 1)
PARTITIONS = 2


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def marker(world: PolicyWorld, stream: str, topic: str, day: date, partition: int):
    return make_envelope(source="test", type=DAY_CLOSED, time=at(day, 23),
                         id=f"{world.location}:{topic}:{day}:{partition}",
                         data={"stream": stream, "location": world.location, "date": day.isoformat(), "topic": topic,
                               "partition": partition, "partitions": PARTITIONS})


def sale(world: PolicyWorld, day: date, qty: float):
    return make_envelope(source="test", type="replenish.ingest.sale", time=at(day, 12), id=f"s-{world.sku}-{day}",
                         data={"event_id": f"s-{world.sku}-{day}", "source": "t", "type": "sale", "sku": world.sku,
                               "location": world.location, "quantity": qty, "time": at(day, 12).isoformat()})


def count(world: PolicyWorld, day: date, on_hand: float):
    return make_envelope(source="test", type="replenish.ingest.stock_count", time=at(day, 0), id=f"c-{world.sku}-{day}",
                         data={"event_id": f"c-{world.sku}-{day}", "source": "t", "type": "stock_count",
                               "sku": world.sku, "location": world.location, "on_hand": on_hand,
                               "time": at(day, 0).isoformat()})


def closes(world: PolicyWorld, day: date, topics=(SALES, STOCK), stream="ingest"):
    return [marker(world, stream, t, day, p) for t in topics for p in range(PARTITIONS)]


@pytest.fixture
async def world(database_url, monkeypatch):
    monkeypatch.setenv("REPLENISH_CLOCK", "event")
    monkeypatch.setenv("REPLENISH_POLICY_EVENT_WAIT_FOR_FORECAST", "false")
    monkeypatch.setenv("REPLENISH_POLICY_EVENT_WAIT_FOR_ORDERS", "false")
    policy_settings.cache_clear()
    w = PolicyWorld(database_url, decide_each=False)
    await w.skeleton_master()
    yield w
    await w.close()
    policy_settings.cache_clear()


async def apply(world: PolicyWorld, envelopes) -> None:
    async with world.uow() as uow:
        await apply_batch(uow, list(envelopes))


async def decided(world: PolicyWorld) -> date | None:
    async with world.sessionmaker() as session:
        return (await session.execute(select(models.decided_days.c.day).where(
            models.decided_days.c.location == world.location))).scalar()


async def test_days_are_decided_as_of_their_end_though_later_sales_were_applied_first(world):
    # a count of 200 and the first day, closed; then 19 days of 10 a day applied at once before their markers
    days = [DAY0 + timedelta(days=i) for i in range(20)]
    await apply(world, [count(world, DAY0, 200), sale(world, DAY0, 10), *closes(world, DAY0)])
    await apply(world, [sale(world, d, 10) for d in days[1:]])
    assert await decided(world) == DAY0  # the feed closes its days: later events close nothing by themselves
    for d in days[1:]:
        await apply(world, closes(world, d))
    assert await decided(world) == days[-1]
    reorders = await world.reorders()
    assert reorders, "the stock ran down: a reorder was due"
    first = min(reorders, key=lambda r: r["decided_at"])
    day = date.fromisoformat(first["reorder_id"].rsplit(":", 1)[1])
    true_on_hand = 200 - 10 * ((day - DAY0).days + 1)  # what was on hand at that day's end
    assert f"= {true_on_hand:g} + " in first["explanation"]["position"]["inventory_position"]
    assert first["decided_at"].startswith(day.isoformat())


async def test_a_feed_without_day_close_closes_a_day_when_a_later_one_begins(world):
    await apply(world, [count(world, DAY0, 100), sale(world, DAY0, 5)])
    assert await decided(world) is None
    await apply(world, [sale(world, DAY0 + timedelta(days=2), 5)])
    assert await decided(world) == DAY0 + timedelta(days=1)


async def test_a_day_waits_for_its_marker_on_every_partition_of_both_topics(world):
    await apply(world, [count(world, DAY0, 100), sale(world, DAY0, 5)])
    await apply(world, [marker(world, "ingest", SALES, DAY0, 0), marker(world, "ingest", SALES, DAY0, 1),
                        marker(world, "ingest", STOCK, DAY0, 0)])
    assert await decided(world) is None  # stock partition 1 has not said the day is over
    await apply(world, [marker(world, "ingest", STOCK, DAY0, 1)])
    assert await decided(world) == DAY0


async def test_policy_says_the_day_is_decided_on_every_partition_of_the_reorder_topic(world):
    await apply(world, [count(world, DAY0, 100), *closes(world, DAY0)])
    async with world.sessionmaker() as session:
        rows = (await session.execute(select(models.outbox.c.payload, models.outbox.c.headers).where(
            models.outbox.c.topic == REORDERS))).all()
    marks = [json.loads(p) for p, h in rows if h and json.loads(p)["data"].get("location") == world.location]
    assert [m["data"]["date"] for m in marks] == [DAY0.isoformat()]
    assert marks[0]["type"] == DAY_CLOSED and marks[0]["data"]["stream"] == "policy"


async def test_with_the_forecast_wait_a_day_needs_the_forecast_of_the_day_before(world, monkeypatch):
    monkeypatch.setenv("REPLENISH_POLICY_EVENT_WAIT_FOR_FORECAST", "true")
    policy_settings.cache_clear()
    day1 = DAY0 + timedelta(days=1)
    await apply(world, [count(world, DAY0, 100), sale(world, DAY0, 5), sale(world, day1, 5)])
    await apply(world, closes(world, DAY0) + closes(world, day1))
    assert await decided(world) == DAY0  # the first day needs no forecast; the second needs DAY0's
    await apply(world, closes(world, DAY0, topics=(DEMAND,), stream="forecast"))
    assert await decided(world) == day1


async def test_with_the_orders_wait_a_day_needs_orders_marker_of_that_day_on_every_partition(world, monkeypatch):
    monkeypatch.setenv("REPLENISH_POLICY_EVENT_WAIT_FOR_ORDERS", "true")
    policy_settings.cache_clear()
    await apply(world, [count(world, DAY0, 100), sale(world, DAY0, 5), *closes(world, DAY0)])
    assert await decided(world) is None  # a PO cancelled before the day began may not have reached policy yet
    await apply(world, [marker(world, "orders", PURCHASE_ORDERS, DAY0, 0)])
    assert await decided(world) is None
    await apply(world, [marker(world, "orders", PURCHASE_ORDERS, DAY0, 1)])
    assert await decided(world) == DAY0


async def test_on_hand_as_of_a_day_uses_the_count_of_that_day_not_a_later_one(world):
    days = [DAY0 + timedelta(days=i) for i in range(3)]
    # the later count (day 2) is applied before day 0 and 1 are decided
    await apply(world, [count(world, DAY0, 100), sale(world, days[0], 7), sale(world, days[1], 7),
                        count(world, days[2], 30), *closes(world, days[0])])
    async with world.sessionmaker() as session:
        snap = (await session.execute(text("SELECT snap_on_hand FROM policy.stock WHERE location = :l AND sku = :s"),
                                      {"l": world.location, "s": world.sku})).scalar()
    assert snap == 93
    await apply(world, closes(world, days[1]) + closes(world, days[2]))
    position = await world.position()
    assert position["on_hand"] == 30 and position["as_of"].startswith(days[2].isoformat())
