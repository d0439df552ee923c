"""Policy from canonical events to reorders, alerts and positions, through the real handlers and PostgreSQL."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.policy import models
from services.policy.batch import apply_batch
from services.policy.decider import decide_dirty
from services.policy.segmenter import sales_changed, segment_once
from services.policy.settings import PolicySettings
from shared.db.engine import make_engine, make_sessionmaker
from shared.db.uow import UnitOfWork
from shared.events.envelope import make_envelope
from shared.events.topics import POLICY_ALERTS, REORDERS

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass
class PolicyWorld:
    """One isolated store/SKU pair (unique names) driven through the real handlers on the real database."""

    url: str
    location: str = field(default_factory=lambda: f"store-{uuid.uuid4().hex[:8]}")
    sku: str = field(default_factory=lambda: f"SKU-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        self.engine = make_engine(self.url)
        self.sessionmaker = make_sessionmaker(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, models.outbox, models.inbox, source="test/policy")

    decide_each: bool = True

    async def send(self, type_: str, data: dict[str, Any], at: datetime) -> None:
        env = make_envelope(source="test", type=type_, time=at, data=data, id=str(uuid.uuid4()))
        async with self.uow() as uow:
            await apply_batch(uow, [env])
        if self.decide_each:
            await decide_dirty(self.uow)  # as the decider does once the input has caught up

    async def master(self, kind: str, data: dict[str, Any], at: datetime = T0) -> None:
        await self.send(f"replenish.ingest.{kind}", {"type": kind, "time": at.isoformat(), "data": data}, at)

    async def skeleton_master(self, *, supplier: str = "SUP-1", lead: float = 7, sku: str | None = None) -> None:
        sku = sku or self.sku
        await self.master("location", {"location": self.location, "name": "Store", "kind": "store"})
        await self.master("item", {"sku": sku, "name": "Item", "base_unit": "each", "category": "grocery",
                                   "unit_cost": 2.5})
        await self.master("supplier_item", {"supplier_id": supplier, "sku": sku, "lead_time_days": lead,
                                            "moq": 12, "pack_size": 12, "unit_cost": 2.5, "primary": True})

    async def count(self, on_hand: float, at: datetime, location: str | None = None) -> None:
        loc = location or self.location
        await self.send("replenish.ingest.stock_count", {
            "event_id": f"c-{uuid.uuid4().hex}", "source": "test/wms", "type": "stock_count", "sku": self.sku,
            "location": loc, "time": at.isoformat(), "on_hand": on_hand}, at)

    async def adjust(self, qty: float, at: datetime, reason: str = "receipt", location: str | None = None,
                     po_id: str | None = None) -> None:
        await self.send("replenish.ingest.stock_adjustment", {
            "event_id": f"a-{uuid.uuid4().hex}", "source": "test/wms", "type": "stock_adjustment",
            "sku": self.sku, "location": location or self.location, "time": at.isoformat(), "quantity": qty,
            "reason": reason, "po_id": po_id}, at)

    async def sale(self, qty: float, at: datetime) -> None:
        await self.send("replenish.ingest.sale", {
            "event_id": f"s-{uuid.uuid4().hex}", "source": "test/pos", "type": "sale", "sku": self.sku,
            "location": self.location, "quantity": qty, "time": at.isoformat()}, at)

    async def skeleton(self, days: int = 60, daily: float = 10) -> datetime:
        """The docs/contract.md §3 skeleton: count days·daily + 20, then `days` daily sales; returns the last sale
        time."""
        await self.skeleton_master()
        await self.count(daily * days + 20, T0)
        for d in range(days):
            await self.sale(daily, T0 + timedelta(days=d + 1, hours=12))
        return T0 + timedelta(days=days, hours=12)

    async def purchase_order(self, po_id: str, status: str, quantity: float, reorder_id: str | None,
                             *, sent_at: datetime | None = None, received_at: datetime | None = None,
                             received: float = 0, eta: date | None = None) -> None:
        at = received_at or sent_at or T0
        await self.send("replenish.orders.purchase_order", {
            "po_id": po_id, "supplier_id": "SUP-1", "status": status, "total": quantity * 2.5,
            "created_at": T0.isoformat(), "sent_at": sent_at.isoformat() if sent_at else None,
            "received_at": received_at.isoformat() if received_at else None,
            "eta": eta.isoformat() if eta else None,
            "lines": [{"sku": self.sku, "location": self.location, "quantity": quantity, "unit_cost": 2.5,
                       "received_quantity": received, "reorder_id": reorder_id}]}, at)

    async def published(self, topic: str, location: str | None = None) -> list[dict[str, Any]]:
        """Envelopes this world's events put in the outbox for `topic`, oldest first."""
        loc = location or self.location
        async with self.sessionmaker() as session:
            rows = await session.execute(select(models.outbox.c.payload).where(
                models.outbox.c.topic == topic, models.outbox.c.key.like(f"%{loc}:{self.sku}"))
                .order_by(models.outbox.c.id))
        out = [json.loads(r.payload) for r in rows]
        return [e for e in out if e["data"].get("location") == loc and e["data"].get("sku") == self.sku]

    async def reorders(self, location: str | None = None) -> list[dict[str, Any]]:
        return [e["data"] for e in await self.published(REORDERS, location)]

    async def alerts(self, alert_type: str) -> list[dict[str, Any]]:
        return [e["data"] for e in await self.published(POLICY_ALERTS) if e["data"]["type"] == alert_type]

    async def position(self, location: str | None = None) -> dict[str, Any]:
        async with self.sessionmaker() as session:
            row = (await session.execute(select(models.positions.c.data).where(
                models.positions.c.location == (location or self.location),
                models.positions.c.sku == self.sku))).first()
        assert row is not None, "no position stored"
        return row.data

    async def close(self) -> None:
        await self.engine.dispose()


@pytest.fixture
async def world(database_url):
    w = PolicyWorld(database_url)
    yield w
    await w.close()


async def test_skeleton_orders_once_in_packs_and_flags_critical(world):
    await world.skeleton()
    pos = await world.position()
    # 56 days of 10/day, σ = 0: ROP = 10·7 = 70, S = ROP + 10·7 = 140; IP hit 70 after the 55th sale
    assert (pos["on_hand"], pos["daily_demand"], pos["reorder_point"], pos["order_up_to"]) == (20, 10, 70, 140)
    assert pos["status"] == "critical"
    reorders = await world.reorders()
    assert [(r["quantity"], r["kind"], r["supplier_id"]) for r in reorders] == [(72.0, "purchase", "SUP-1")]
    assert reorders[0]["reorder_id"] == f"{world.location}:{world.sku}:2026-10-26"
    assert pos["on_order"] == 72 and pos["inventory_position"] == 92
    decision = pos["explanation"]["decision"]
    assert decision["emitted"] is False and "IP 92 > ROP 70" in decision["reason"]


async def test_count_consumed_after_its_sales_orders_once_on_the_caught_up_state(world):
    world.decide_each = False   # the stock topic lags the sales topic: nothing is decided until caught up
    await world.skeleton_master()
    for d in range(60):
        await world.sale(10, T0 + timedelta(days=d + 1, hours=12))
    await world.count(620, T0)
    await decide_dirty(world.uow)
    # one decision on the final state: IP 20 ≤ ROP 70, S − IP = 140 − 20 = 120 = 10 packs of 12
    assert [r["quantity"] for r in await world.reorders()] == [120.0]
    assert (await world.position())["on_hand"] == 20


async def test_stockout_risk_fires_then_escalates_under_one_key(world):
    await world.skeleton()
    risk = await world.alerts("stockout_risk")
    # on hand 70 → out in 6 days < 7: warning; on hand 40 → 3 days ≤ 7/2: critical; same key, no resolve
    assert [(a["status"], a["severity"]) for a in risk] == [("firing", "warning"), ("firing", "critical")]
    assert {a["key"] for a in risk} == {f"stockout_risk:{world.location}:{world.sku}"}


async def test_stockout_risk_resolves_only_past_hysteresis(world):
    last = await world.skeleton()
    before = len(await world.alerts("stockout_risk"))
    await world.adjust(62, last + timedelta(hours=1))   # 82 on hand: 8 days ≥ 7 but < 7·1.2
    assert len(await world.alerts("stockout_risk")) == before
    await world.adjust(20, last + timedelta(hours=2))   # 102 on hand: 10 days ≥ 8.4 → resolved
    risk = await world.alerts("stockout_risk")
    assert len(risk) == before + 1 and risk[-1]["status"] == "resolved" and risk[-1]["severity"] == "critical"


async def test_open_purchase_order_prevents_a_second_order(world):
    last = await world.skeleton()
    (reorder,) = await world.reorders()
    await world.purchase_order("PO-1", "proposed", 72, reorder["reorder_id"])
    pos = await world.position()
    assert pos["on_order"] == 72  # the PO line, not the PO plus the reorder it confirmed
    await world.sale(5, last + timedelta(days=1))  # new decision day, IP 87 > ROP 70
    assert len(await world.reorders()) == 1
    await world.purchase_order("PO-1", "cancelled", 72, reorder["reorder_id"])
    await world.sale(1, last + timedelta(days=1, hours=1))  # nothing on order any more: IP 14 ≤ 70
    assert len(await world.reorders()) == 2


async def test_a_receipt_counts_once_whether_the_warehouse_or_orders_reports_it_first(world):
    last = await world.skeleton()
    (reorder,) = await world.reorders()
    po = f"PO-R-{world.sku}"
    await world.purchase_order(po, "shipped", 72, reorder["reorder_id"])
    before = await world.position()
    # the warehouse books 48 of the 72 before orders' snapshot of the receipt reaches policy
    await world.adjust(48, last + timedelta(hours=18), po_id=po)
    early = await world.position()
    assert early["on_hand"] == before["on_hand"] + 48 and early["on_order"] == 72 - 48
    # orders' snapshot of that same receipt changes nothing more; the rest arrives and closes the PO
    await world.purchase_order(po, "partially_received", 72, reorder["reorder_id"], received=48)
    assert (await world.position())["on_order"] == 72 - 48
    await world.adjust(24, last + timedelta(hours=19), po_id=po)
    assert (await world.position())["on_order"] == 0
    await world.purchase_order(po, "received", 72, reorder["reorder_id"], received=72)
    final = await world.position()
    assert final["on_order"] == 0 and final["on_hand"] == before["on_hand"] + 72


async def test_counts_are_absolute_as_of_their_time_whatever_the_arrival_order(world):
    await world.skeleton_master()
    await world.count(100, T0 + timedelta(days=10))
    await world.sale(3, T0 + timedelta(days=12))
    await world.sale(5, T0 + timedelta(days=9))      # before the count: already inside it
    assert (await world.position())["on_hand"] == 97
    await world.count(50, T0 + timedelta(days=11))   # later count, earlier than the sale of 3
    assert (await world.position())["on_hand"] == 47
    await world.count(999, T0 + timedelta(days=5))   # older than the latest count: ignored
    assert (await world.position())["on_hand"] == 47


async def test_lead_time_blends_learned_receipts_with_master_data(world):
    await world.skeleton_master(lead=7)
    await world.count(100, T0)
    await world.purchase_order("PO-LT", "received", 24, None, sent_at=T0, received_at=T0 + timedelta(days=11),
                               received=24)
    pos = await world.position()
    assert pos["lead_time_days"] == pytest.approx((3 * 7 + 11) / 4)  # master counts as 3 receipts
    assert pos["explanation"]["lead_time"]["receipts"] == 1


async def test_transfer_preferred_from_location_above_its_order_up_to(world):
    depot = f"dc-{uuid.uuid4().hex[:6]}"
    await world.skeleton_master()
    await world.master("location", {"location": depot, "name": "DC", "kind": "warehouse"})
    await world.master("lane", {"from_location": depot, "to_location": world.location, "lead_time_days": 1,
                                "unit_cost": 0.5})
    await world.count(5000, T0, location=depot)       # no demand there: S = 0, all 5000 in excess
    await world.count(100, T0)
    for d in range(3):
        await world.sale(10, T0 + timedelta(days=d + 1, hours=12))
    (reorder,) = await world.reorders()
    assert (reorder["kind"], reorder["from_location"], reorder["supplier_id"]) == ("transfer", depot, None)
    assert reorder["quantity"] == 72 and (await world.position())["on_order"] == 72
    await world.adjust(72, T0 + timedelta(days=4), reason="transfer_in")
    pos = await world.position()
    assert (pos["on_hand"], pos["on_order"]) == (142, 0)


async def test_dead_stock_counts_days_without_sales_in_event_time(world):
    await world.skeleton_master()
    await world.count(100, T0)
    await world.sale(1, T0 + timedelta(days=1))
    await world.count(99, T0 + timedelta(days=30))
    assert await world.alerts("dead_stock") == []
    await world.count(99, T0 + timedelta(days=62))    # 61 days since the last sale ≥ 60
    (dead,) = await world.alerts("dead_stock")
    assert dead["status"] == "firing" and dead["explanation"]["days_since_last_sale"] == 61


async def test_segments_set_default_service_levels(database_url):
    fast, slow = PolicyWorld(database_url), PolicyWorld(database_url)
    slow.location = fast.location
    try:
        for w, daily in ((fast, 100), (slow, 1)):
            await w.skeleton_master()
            await w.count(10_000, T0)
            for d in range(28):
                await w.sale(daily, T0 + timedelta(days=d, hours=12))
        async with fast.uow() as uow:
            changed, newest = await sales_changed(uow, T0 + timedelta(days=27))
            await segment_once(uow, PolicySettings(segment_window_days=28), until=(T0 + timedelta(days=27)).date())
        assert changed >= 2 and newest >= T0 + timedelta(days=27, hours=12)  # both keys sold after day 27 00:00
        for w in (fast, slow):
            await w.sale(1, T0 + timedelta(days=27, hours=13))
        a, c = await fast.position(), await slow.position()
        # fast: 0 % of value before it → A (98 %); slow: 100/101 ≈ 99 % before it → C (90 %); both steady → X
        assert (a["service_level"], c["service_level"]) == (0.98, 0.90)
        assert a["explanation"]["segment"] == {"abc": "A", "xyz": "X", "pattern": "smooth"}
        assert c["explanation"]["segment"]["abc"] == "C"
    finally:
        await fast.close()
        await slow.close()
