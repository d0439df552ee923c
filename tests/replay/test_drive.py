"""The driver's planner and supplier: every PO approved and shipped once, at most CALLS requests in flight, and
the world's bookkeeping (arrivals, ordered quantities) the same whatever order the calls finish in."""
import asyncio
from datetime import date, timedelta

from replenish.replay import drive
from replenish.replay.dataset import select
from replenish.replay.drive import Driver, Settings
from replenish.replay.feed import Supply
from tests.replay.conftest import synthetic


class FakeOrders:
    """orders as the driver sees it: pending POs become approved, then sent; each call takes a while."""

    def __init__(self, pos):
        self.pos = {po["po_id"]: po for po in pos}
        self.in_flight = self.most = 0
        self.approved, self.shipped = [], []

    async def _busy(self, seconds):
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(seconds)
        self.in_flight -= 1

    async def purchase_orders(self, status=None):
        if status == "approved":  # orders sends what was approved at once
            for po in self.pos.values():
                po["status"] = "sent" if po["status"] == "approved" else po["status"]
        return [dict(po) for po in self.pos.values() if po["status"] == status]

    async def approve(self, po_id):
        await self._busy(0.01 * (hash(po_id) % 3))
        self.approved.append(po_id)
        self.pos[po_id]["status"] = "approved"

    async def acknowledge_and_ship(self, po, promised, lines):
        await self._busy(0.01 * (hash(po["po_id"]) % 3))
        self.shipped.append((po["po_id"], promised, lines))
        self.pos[po["po_id"]]["status"] = "shipped"


def test_every_po_is_approved_and_shipped_once_with_bounded_concurrency():
    sel = select(synthetic(n_series=30, n_days=60), days=14, history=40)
    supply = {k: Supply(supplier_id=f"SUP-{k[0]}", lead_time_days=5, lead_time_std_days=2) for k in sel.keys}
    pos = [{"po_id": f"PO-{sku}", "supplier_id": f"SUP-{sku}", "status": "pending_approval",
            "lines": [{"sku": sku, "location": loc, "quantity": 3.0}]} for sku, loc in sel.keys]
    io = FakeOrders(pos)
    driver = Driver(io, sel, supply, Settings(seed=1, approve="planner", timezone="UTC", country=None,
                                              target_fill=0.95, review_days=7))
    day = sel.test_days[0]
    asyncio.run(driver._approve_and_ship(day))
    assert sorted(io.approved) == sorted(po["po_id"] for po in pos)
    assert sorted(p for p, _, _ in io.shipped) == sorted(po["po_id"] for po in pos)
    assert 1 < io.most <= drive.CALLS
    arrivals = {(key, qty, po_id): d for d, rows in driver.arrivals.items() for key, qty, po_id in rows}
    assert len(arrivals) == len(pos)
    for po_id, promised, lines in io.shipped:  # one line each: promised on its arrival day, lead ≥ 1 day
        (key, qty, arrival), = [(k, q, d) for (k, q, p), d in arrivals.items() if p == po_id]
        assert date.fromisoformat(promised) == arrival >= day + timedelta(days=1)
        assert lines == [{"sku": key[0], "location": key[1], "quantity": qty}]
    assert driver.played.purchase_orders == {po["po_id"] for po in pos}
