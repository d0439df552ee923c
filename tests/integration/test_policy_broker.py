"""Policy end to end on the real broker: canonical events in, reorder and alert topics out, no double order."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select

from services.policy import decider, models
from services.policy.app import policy_consumers
from shared.events.envelope import Envelope, make_envelope
from shared.events.topics import MASTER, POLICY_ALERTS, PURCHASE_ORDERS, REORDERS, SALES, STOCK
from shared.service import ServiceRuntime
from tests.integration.test_policy_flow import T0

pytestmark = pytest.mark.integration


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
        for _ in range(5):  # a few fetches reach the end of the small test topics
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out += [Envelope.from_bytes(r.value) for r in records if r.key and r.key.decode() == key]
    finally:
        await consumer.stop()
    return out


async def test_events_on_the_broker_give_one_reorder_and_a_critical_alert(kafka, settings_for):
    loc, sku = f"store-{uuid.uuid4().hex[:6]}", f"SKU-{uuid.uuid4().hex[:6]}"
    runtime = ServiceRuntime(settings_for("policy"), models.metadata)
    runtime.consumers += policy_consumers()
    runtime.tasks.append(decider.run)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await runtime.start()
    await producer.start()

    async def send(topic: str, key: str, type_: str, data: dict, at) -> None:
        env = make_envelope(source="test", type=f"replenish.{type_}", time=at, data=data)
        await producer.send_and_wait(topic, env.to_bytes(), key=key.encode())

    async def position() -> dict | None:
        async with runtime.sessionmaker() as s:
            row = (await s.execute(select(models.positions.c.data).where(
                models.positions.c.location == loc, models.positions.c.sku == sku))).first()
        return row.data if row else None

    try:
        for kind, data in (("location", {"location": loc, "name": "S", "kind": "store"}),
                           ("item", {"sku": sku, "name": "I", "base_unit": "each", "unit_cost": 2.5}),
                           ("supplier_item", {"supplier_id": "SUP-1", "sku": sku, "lead_time_days": 7, "moq": 12,
                                              "pack_size": 12, "primary": True})):
            await send(MASTER, f"{kind}:{sku}", f"ingest.{kind}", {"type": kind, "time": T0.isoformat(),
                                                                    "data": data}, T0)
        await send(STOCK, f"{loc}:{sku}", "ingest.stock_count", {
            "event_id": f"c-{loc}", "source": "t", "type": "stock_count", "sku": sku, "location": loc,
            "time": T0.isoformat(), "on_hand": 620}, T0)
        sale_times = [T0 + timedelta(days=d + 1, hours=12) for d in range(60)] + [T0 + timedelta(days=61)]
        for i, at in enumerate(sale_times):
            await send(SALES, f"{loc}:{sku}", "ingest.sale", {
                "event_id": f"s-{loc}-{i}", "source": "t", "type": "sale", "sku": sku, "location": loc,
                "quantity": 10 if i < 60 else 5, "time": at.isoformat()}, at)
            if i == 59:  # the skeleton is in: its reorder is put on a PO before the next day's sale
                assert await _poll(lambda: _on_hand(position, 20), 40)
                # master data has its own consumer: the supplier item may land after the sales, and the
                # reorder with the decision that follows it
                (reorder,) = await _poll(lambda: _read_data(kafka, REORDERS, f"{loc}:{sku}"), 40)
                await send(PURCHASE_ORDERS, "PO-" + loc, "orders.purchase_order", {
                    "po_id": "PO-" + loc, "supplier_id": "SUP-1", "status": "proposed", "total": 1.0,
                    "created_at": at.isoformat(), "lines": [{"sku": sku, "location": loc, "quantity": reorder[
                        "quantity"], "reorder_id": reorder["reorder_id"]}]}, at)
                assert await _poll(lambda: _on_order_from_po(runtime, loc, sku), 20)
        assert await _poll(lambda: _on_hand(position, 15), 40)
        reorders = [e.data for e in await _read(kafka, REORDERS, f"{loc}:{sku}")]
        assert len(reorders) == 1 and reorders[0]["quantity"] % 12 == 0
        risk = [e.data for e in await _read(kafka, POLICY_ALERTS, f"stockout_risk:{loc}:{sku}")]
        assert risk and (risk[-1]["status"], risk[-1]["severity"]) == ("firing", "critical")
    finally:
        await producer.stop()
        await runtime.stop(grace_s=5)


async def _read_data(kafka: str, topic: str, key: str) -> list[dict]:
    return [e.data for e in await _read(kafka, topic, key)]


async def _on_hand(position, value: float) -> bool:
    pos = await position()
    return bool(pos) and pos["on_hand"] == value


async def _on_order_from_po(runtime, loc: str, sku: str) -> bool:
    async with runtime.sessionmaker() as s:
        return (await s.execute(select(models.po_lines.c.po_id).where(
            models.po_lines.c.location == loc, models.po_lines.c.sku == sku))).first() is not None
