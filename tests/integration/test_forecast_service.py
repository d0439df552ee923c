"""Forecast end to end on the real broker and PostgreSQL: sales in, DemandForecast out, censoring, overrides,
cold start."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select

from services.forecast import models
from services.forecast import repository as repo
from services.forecast.consumers import TOPICS, apply_batch
from services.forecast.scheduler import Forecaster
from services.forecast.settings import ForecastSettings
from shared.events.envelope import Envelope, make_envelope
from shared.events.topics import DEMAND, MASTER, SALES, STOCK
from shared.service import ConsumerSpec, ServiceRuntime

pytestmark = pytest.mark.integration
T0 = datetime(2026, 6, 1, tzinfo=UTC)
TZ = "Asia/Shanghai"  # UTC+8: a sale at 18:00 UTC belongs to the next local day
DAYS = 60


async def _poll(fn, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if found := await fn():
            return found
        await asyncio.sleep(0.2)
    return None


async def _read(kafka: str, topic: str, key: str) -> list[Envelope]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    out = []
    try:
        for _ in range(5):
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out += [Envelope.from_bytes(r.value) for r in records if r.key and r.key.decode() == key]
    finally:
        await consumer.stop()
    return out


class World:
    """A producer on the input topics and reads of forecast's tables, for one unique location."""

    def __init__(self, kafka: str, runtime: ServiceRuntime) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
        self.runtime = runtime
        self.loc = f"store-{uuid.uuid4().hex[:6]}"

    async def send(self, topic: str, key: str, type_: str, data: dict, at: datetime) -> None:
        env = make_envelope(source="test", type=f"replenish.ingest.{type_}", time=at, data=data)
        await self.producer.send_and_wait(topic, env.to_bytes(), key=key.encode())

    async def master(self, kind: str, key: str, data: dict) -> None:
        await self.send(MASTER, f"{kind}:{key}", kind, {"type": kind, "time": T0.isoformat(), "data": data}, T0)

    async def sale(self, sku: str, qty: float, at: datetime) -> None:
        await self.send(SALES, f"{self.loc}:{sku}", "sale", {
            "event_id": uuid.uuid4().hex, "source": "t", "type": "sale", "sku": sku, "location": self.loc,
            "quantity": qty, "time": at.isoformat()}, at)

    async def count(self, sku: str, on_hand: float, at: datetime) -> None:
        await self.send(STOCK, f"{self.loc}:{sku}", "stock_count", {
            "event_id": uuid.uuid4().hex, "source": "t", "type": "stock_count", "sku": sku, "location": self.loc,
            "on_hand": on_hand, "time": at.isoformat()}, at)

    async def series(self, sku: str):
        async with self.runtime.sessionmaker() as s:
            return (await s.execute(select(models.series).where(
                models.series.c.location == self.loc, models.series.c.sku == sku))).first()

    async def forecast(self, sku: str, test=lambda body: True, timeout: float = 30.0) -> dict | None:
        async def found():
            async with self.runtime.sessionmaker() as s:
                body = await repo.get_forecast(s, self.loc, sku)
            return body if body and test(body) else None
        return await _poll(found, timeout)

    async def demand_day(self, sku: str, day: date):
        async with self.runtime.sessionmaker() as s:
            return (await s.execute(select(models.daily_demand).where(
                models.daily_demand.c.location == self.loc, models.daily_demand.c.sku == sku,
                models.daily_demand.c.day == day))).first()


async def _feed_history(w: World) -> date:
    """60 days of 10/day at 18:00 UTC; on day 30 only 3 sell and a count finds the shelf empty (a stockout),
    refilled the next morning. Sent in event-time phases: the two input topics are not ordered together."""
    await w.master("location", w.loc, {"location": w.loc, "name": "S", "kind": "store", "timezone": TZ})
    for sku, extra in (("OLD", {}), ("NEW", {"like_sku": "OLD"})):
        await w.master("item", sku, {"sku": sku, "name": sku, "base_unit": "each", "category": "c", **extra})
    assert await _poll(lambda: _has_location(w), 20)
    await w.count("OLD", 1000, T0)
    assert await _poll(lambda: _on_hand(w, "OLD", 1000), 20)
    for d in range(1, DAYS + 1):
        at = T0 + timedelta(days=d, hours=18)
        if d == 31:
            await w.count("OLD", 0, at - timedelta(days=1, hours=-2))  # day 30, 20:00 UTC: shelf empty
            assert await _poll(lambda: _on_hand(w, "OLD", 0), 20)
            await w.count("OLD", 500, at - timedelta(hours=12))         # day 31 morning: refilled
            assert await _poll(lambda: _on_hand(w, "OLD", 500), 20)
        await w.sale("OLD", 3 if d == 30 else 10, at)
    return (T0 + timedelta(days=DAYS, hours=18 + 8)).date()  # local day of the last sale


async def _has_location(w: World) -> bool:
    async with w.runtime.sessionmaker() as s:
        return bool(await repo.master_data(s, "location", {w.loc}))


async def _on_hand(w: World, sku: str, value: float) -> bool:
    row = await w.series(sku)
    return row is not None and row.on_hand == value


async def test_sales_become_a_censored_overridable_forecast_and_a_new_sku_borrows_its_like(kafka, settings_for):
    runtime = ServiceRuntime(settings_for("forecast"), models.metadata)
    runtime.consumers.append(ConsumerSpec("history", TOPICS, None, batch_size=500, batch_handler=apply_batch))
    settings = ForecastSettings(quiet_s=0.5, poll_s=0.2, quantiles="0.95,0.98", use_prophet="never")
    runtime.tasks.append(Forecaster(runtime, settings).run)
    w = World(kafka, runtime)
    await runtime.start()
    await w.producer.start()
    try:
        last_day = await _feed_history(w)
        body = await w.forecast("OLD", lambda b: b["as_of"] == last_day.isoformat(), timeout=40)
        assert body is not None, "no forecast as of the last sale's local day"
        hz = body["horizon"]
        assert len(hz) >= 90 and hz[0]["date"] == (last_day + timedelta(days=1)).isoformat()
        assert all(0 <= h["p10"] <= h["p50"] <= h["p90"] and h["mean"] >= 0 for h in hz)
        assert all(0 <= p90 <= p95 <= p98 for p90, p95, p98 in zip(
            [h["p90"] for h in hz], body["quantiles"]["p95"], body["quantiles"]["p98"], strict=True))
        mean28 = sum(h["mean"] for h in hz[:28]) / 28
        assert 9.0 <= mean28 <= 11.0, mean28
        assert body["model"] and set(body["accuracy"]) >= {"wape", "mase", "bias"}
        assert not body["low_confidence"]

        stockout_day = (T0 + timedelta(days=30, hours=18 + 8)).date()
        assert (await w.demand_day("OLD", stockout_day)).stockout
        assert not (await w.demand_day("OLD", stockout_day - timedelta(days=1))).stockout
        assert not (await w.demand_day("OLD", stockout_day + timedelta(days=2))).stockout

        published = [e.data for e in await _read(kafka, DEMAND, f"{w.loc}:OLD")]
        assert any(p["as_of"] == last_day.isoformat() and len(p["horizon"]) >= 28 for p in published)

        first = last_day + timedelta(days=1)
        async with runtime.uow() as uow:
            await repo.add_override(uow.session, {
                "location": w.loc, "sku": "OLD", "start": first, "end": first + timedelta(days=6), "quantity": 25.0,
                "multiplier": None, "reason": "store event", "expires_at": None, "created_by": "planner"})
        over = await w.forecast("OLD", lambda b: b["horizon"][0]["mean"] == 25.0)
        assert over is not None and over["horizon"][7]["mean"] < 15
        assert any(p["horizon"][0]["mean"] == 25.0 for p in
                   [e.data for e in await _read(kafka, DEMAND, f"{w.loc}:OLD")])

        await w.count("NEW", 40, T0 + timedelta(days=DAYS, hours=19))  # the new SKU arrives at the store
        cold = await w.forecast("NEW")
        assert cold is not None
        assert cold["model"] == "cold_start" and cold["cold_start"] == "like_sku" and cold["low_confidence"]
        assert 8.0 <= sum(h["mean"] for h in cold["horizon"][:28]) / 28 <= 11.0
    finally:
        await w.producer.stop()
        await runtime.stop(grace_s=5)
