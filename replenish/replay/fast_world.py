"""`replenish simulate`'s world and orders side: each test day at the shelf (receipts, sales, the weekly count and
the forecast service's stock fold of the day), and orders' consolidation of the day's reorders into POs that are
approved, sent and shipped the same day, each line received at 06:00 of D + Lᵢ (CONTRACT §9)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from replenish.replay.dataset import Key
from replenish.replay.drive import COUNT_EVERY
from replenish.replay.fast_policy import Line
from replenish.replay.world import lead_draw
from services.forecast.history import Movement, SeriesState
from services.forecast.ledger import fold_moves
from services.orders.domain import (
    PurchaseOrder,
    Reorder,
    SupplierItem,
    add_reorder,
    known_timezone,
    po_id_for,
    window_key,
)
from services.policy.domain.model import ReorderDecision
from shared.events.markers import day_end


class WorldSide:
    """Simulation's methods that play the world and orders (its state lives on the Simulation)."""

    def _world_day(self, j: int) -> None:
        """Day j at the shelf: receipts, sales, the weekly count; the stock fold's censoring of the day."""
        day, shelf = self.test[j], self.shelf
        received: dict[Key, list[tuple[float, str]]] = defaultdict(list)
        for key, qty, po_id in sorted(self.arrivals.pop(j, [])):
            shelf.receive(key, qty, day)
            received[key].append((qty, po_id))
        counted = (j + 1) % COUNT_EVERY == 0
        for i, key in enumerate(self.keys):
            start = self.sel.opening[key] if j == 0 else self.on_hand_end[i, j - 1]
            served = shelf.serve(key, float(self.sel.test[key][j]), day)
            end = shelf.on_hand(key)
            self.on_hand_end[i, j] = end
            self.history.sales[i, self.h + j] = served
            if start <= 0 or end <= 0:
                self._censor(i, key, j, received.get(key, []), served, end if counted else None)

    def _censor(self, i: int, key: Key, j: int, received: list[tuple[float, str]], served: float,
                counted: float | None) -> None:
        """The forecast service's fold of the day's movements (ledger.fold_moves): which days it censors and
        whether a stockout is still going on (out_since)."""
        day, sku, loc = self.test[j], key[0], key[1]
        fkey = (loc, sku)
        at = self._at
        before = self.sel.opening[key] + 1 if j == 0 else self.on_hand_end[i, j - 1]
        state = SeriesState(True, self.days[0], day, 0.0, before, None, self.history.out_since[key])
        moves = []
        if j == 0:
            moves.append((Movement(fkey, at(day, 0), "stock_count", self.sel.opening[key]), day,
                          f"replay/wms/count:opening:{loc}:{sku}:{day}"))
        moves += [(Movement(fkey, at(day, 6), "stock_adjustment", qty), day, f"replay/wms/receipt:{po}:{loc}:{sku}")
                  for qty, po in received]
        if served > 0:
            moves.append((Movement(fkey, at(day, 12), "sale", served), day, f"replay/pos/sale:{loc}:{sku}:{day}"))
        if counted is not None:
            moves.append((Movement(fkey, at(day, 22), "stock_count", counted), day,
                          f"replay/wms/count:weekly:{loc}:{sku}:{day}"))
        fold = fold_moves({fkey: state}, moves)
        for _, _, d in fold.stockout:
            self.history.censored[i, (d - self.days[0]).days] = True
        self.history.out_since[key] = fold.series[fkey].out_since

    def _at(self, day: date, hour: int) -> datetime:
        return day_end(day, self.tz) - timedelta(days=1) + timedelta(hours=hour)

    # -- orders -------------------------------------------------------------------------------------------------

    def _order(self, j: int, day: date, decisions: list[ReorderDecision]) -> None:
        """orders: each reorder joins its supplier's PO of the day's window; every PO is approved, sent and
        shipped today, each line received at 06:00 of day + Lᵢ."""
        pos: dict[str, PurchaseOrder] = {}
        zone = known_timezone(self.tz)
        for d in decisions:
            reorder = Reorder(reorder_id=d.reorder_id, sku=d.sku, location=d.location, quantity=float(d.quantity),
                              need_by=d.need_by, decided_at=d.decided_at, kind=d.kind, supplier_id=d.supplier_id,
                              from_location=d.from_location, unit_cost=d.unit_cost,
                              requires_approval=d.requires_approval)
            self.played.reorders.append({"reorder_id": d.reorder_id, "location": d.location, "sku": d.sku,
                                         "quantity": float(d.quantity), "kind": d.kind})
            po_id = po_id_for(reorder.party_id, window_key(d.location, d.decided_at, self.window_s, zone))
            item = self.master.supplier_items.get(d.sku) if d.kind == "purchase" else None
            po, _ = add_reorder(pos.get(po_id), reorder, SupplierItem.from_mapping(item) if item else None,
                                d.decided_at, po_id=po_id)
            pos[po_id] = po
        for po_id in sorted(pos):
            self._ship(j, day, pos[po_id])

    def _ship(self, j: int, day: date, po: PurchaseOrder) -> None:
        lines, latest = [], day
        for ln in po.lines:
            key = (ln.sku, ln.location)
            s = self.supply.get(key)
            lead = lead_draw(self.opts.seed, key[0], key[1], day, s.lead_time_days if s else 7.0,
                             s.lead_time_std_days if s else 0.0)
            latest = max(latest, day + timedelta(days=lead))
            lines.append((key, float(ln.quantity), lead))
        for key, qty, lead in lines:
            i = self.index.get(key)
            if i is None:
                continue
            self.arrivals[j + lead].append((key, qty, po.po_id))
            self.shelf.record_order(key, day, qty)
            self.states[i].lines.append(Line(po.po_id, qty, latest, day + timedelta(days=lead)))
            self.on_order[i] += qty
            self.leaving[j + lead].append((i, qty))
        self.book.po_received(latest, po.supplier_id, sorted({k[0] for k, _, _ in lines}), (latest - day).days)
        self.played.purchase_orders.add(po.po_id)
        self.played.pos.append({"po_id": po.po_id, "supplier_id": po.supplier_id, "status": "received",
                                "created_at": po.created_at.isoformat(),
                                "lines": [{"sku": k[0], "location": k[1], "quantity": q} for k, q, _ in lines]})
