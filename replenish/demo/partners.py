"""The demo's supplier and planner, only through docs/contract.md §5's doors: the supplier pulls its sent POs
with its own token, acknowledges, ships and delivers them in compressed lead time; the planner approves what
waits for it."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from replenish.demo.live import Delivery, Store
from replenish.demo.world import SUPPLIERS, ZONE, Clock, Settings, World
from replenish.replay.platform_io import PlatformIO
from replenish.replay.world import lead_draw

ACK_S, SHIP_S = (10.0, 30.0), (20.0, 60.0)  # wall seconds after the PO reached the supplier


@dataclass
class Order:
    """A sent PO as the supplier plans it: when to answer (wall clock) and when each line arrives (demo time)."""

    po_id: str
    supplier_id: str
    lines: list[dict[str, Any]]
    arrivals: list[datetime]  # per line
    promised: date
    ack_at: float
    ship_at: float
    acked: bool = False


class Supplier:
    """Every supplier of the world, each with its own supplier token (`POST /v1/suppliers/{id}/keys`)."""

    def __init__(self, io: PlatformIO, world: World, settings: Settings, clock: Clock, store: Store) -> None:
        self.io, self.world, self.settings, self.clock, self.store = io, world, settings, clock, store
        self.rng = random.Random(settings.seed)
        self.orders: dict[str, Order] = {}
        self.done: set[str] = set()

    async def step(self) -> None:
        for supplier_id in SUPPLIERS:
            token = await self.io.supplier_token(supplier_id)
            body = await self.io.call("GET", "orders", "/v1/supplier/purchase-orders", token=token,
                                      params={"status": "sent"})
            for po in body["items"]:
                if po["po_id"] not in self.orders and po["po_id"] not in self.done:
                    self.orders[po["po_id"]] = self._plan(po)
        now = time.monotonic()
        for order in sorted(self.orders.values(), key=lambda o: o.ack_at):
            if not order.acked and now >= order.ack_at:
                await self._acknowledge(order)
            if order.acked and now >= order.ship_at:
                await self._ship(order)

    def _plan(self, po: dict[str, Any]) -> Order:
        """Lᵢ = max(1, round(L + σ·z)) demo days per line (§9's draw) from the PO's creation, plus up to two
        hours of unloading; the answers come within seconds of wall time. Counted from the creation, not from
        when the supplier read it: the platform's seconds of consolidation and approval would otherwise become
        hours of lead time that no real supplier adds."""
        now = self.clock.now()
        created_at = datetime.fromisoformat(po["created_at"])
        ordered = min(self.clock.at(created_at), now)
        day = ordered.date()
        lines, arrivals = [], []
        for line in po["lines"]:
            key = (line["sku"], line["location"])
            lead, std = self.world.lead(key) if key in self.world.demand else SUPPLIERS[po["supplier_id"]]
            days = lead_draw(self.settings.seed, key[0], key[1], day, lead, std)
            arrivals.append(ordered + timedelta(days=days, hours=self.rng.uniform(0, 2)))
            lines.append(line)
            if key in self.world.demand:
                self.store.shelf.record_order(key, day, float(line["quantity"]))
        first = min(arrivals, default=now)
        span = self.clock.wall_s(max((first - now).total_seconds(), 0.0) / 86400)
        ack = min(self.rng.uniform(*ACK_S), 0.3 * span)
        ship = max(min(self.rng.uniform(*SHIP_S), 0.7 * span), ack + 0.5)
        # never before the PO's creation: on the wall clock the platform stamps it now, while demo time runs behind
        promised = max(max(arrivals, default=now).date(), created_at.astimezone(ZONE).date())
        wall = time.monotonic()
        return Order(po["po_id"], po["supplier_id"], lines, arrivals, promised, wall + ack, wall + ship)

    async def _acknowledge(self, order: Order) -> None:
        token = await self.io.supplier_token(order.supplier_id)
        await self.io.call("POST", "orders", f"/v1/supplier/purchase-orders/{order.po_id}/acknowledge", token=token,
                           json={"promised_date": order.promised.isoformat()}, ok=(200, 201, 409))
        order.acked = True

    async def _ship(self, order: Order) -> None:
        """One ship notice for the whole PO; its lines then arrive one by one (so a PO is partly received)."""
        token = await self.io.supplier_token(order.supplier_id)
        lines = [{"sku": ln["sku"], "location": ln["location"],
                  "quantity": float(ln.get("accepted_quantity") or ln["quantity"])} for ln in order.lines]
        reply = await self.io.call("POST", "orders", f"/v1/supplier/purchase-orders/{order.po_id}/ship", token=token,
                                   json={"eta": order.promised.isoformat(), "tracking": f"TRK-{order.po_id[-8:]}",
                                         "lines": lines}, ok=(200, 201, 409))
        del self.orders[order.po_id]
        self.done.add(order.po_id)
        if reply is None or reply.get("status") != "shipped":
            return  # cancelled meanwhile: nothing travels
        for line, due in zip(lines, order.arrivals, strict=True):
            key = (line["sku"], line["location"])
            if key in self.world.demand:
                self.store.deliver(Delivery(due, order.po_id, key, line["quantity"]))


class Planner:
    """Approves every PO waiting for approval once it has waited `approve_after_s` (visible in the summary)."""

    def __init__(self, io: PlatformIO, settings: Settings) -> None:
        self.io, self.settings = io, settings
        self.seen: dict[str, float] = {}
        self.approved = 0

    async def step(self) -> None:
        now = time.monotonic()
        for po in await self.io.purchase_orders("pending_approval"):
            if now - self.seen.setdefault(po["po_id"], now) >= self.settings.approve_after_s:
                await self.io.approve(po["po_id"])
                self.approved += 1
