"""Policy's event handlers: keep stock, demand and on-order in event time, then decide again."""
from __future__ import annotations

from datetime import datetime

from services.policy import repository as repo
from services.policy.decide import local_day
from services.policy.domain.rules import policy_event_rule
from services.policy.models import forecast_history, items, lanes, locations, overrides, promotions, supplier_items
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import (
    DEMAND,
    MASTER,
    PROMOTIONS,
    PURCHASE_ORDERS,
    SALES,
    STOCK,
    DemandForecast,
    MasterDataChanged,
    PromotionPlanned,
    PurchaseOrderChanged,
    SaleRecorded,
    StockChanged,
)


async def recompute(uow: UnitOfWork, location: str, sku: str) -> None:
    """Mark the key for the decider, which decides once the inputs have caught up (docs/contract.md §8 watermark):
    a stock count consumed after the sales that follow it must not cause an order in between."""
    await repo.mark_dirty(uow.session, location, sku)


async def _touch(uow: UnitOfWork, location: str, sku: str, at: datetime, *, sale: bool = False) -> None:
    await repo.ensure_stock(uow.session, location, sku)
    row = await repo.stock_row(uow.session, location, sku, lock=True)
    values = {}
    if row.last_event_at is None or at > row.last_event_at:
        values["last_event_at"] = at
    if sale and (row.last_sale_at is None or at > row.last_sale_at):
        values["last_sale_at"] = at
    if values:
        await repo.update_stock(uow.session, location, sku, **values)


async def _apply_delta(uow: UnitOfWork, event_id: str, location: str, sku: str, at: datetime,
                       delta: float, po_id: str | None = None) -> None:
    """Counts are absolute as of their time; a movement counts only if it happened after the latest count."""
    await _touch(uow, location, sku, at)
    if not await repo.add_ledger(uow.session, event_id=event_id, location=location, sku=sku, event_time=at,
                                 delta=delta, po_id=po_id):
        return
    row = await repo.stock_row(uow.session, location, sku)
    if row.count_at is None or at > row.count_at:
        await repo.update_stock(uow.session, location, sku, delta_since_count=row.delta_since_count + delta)


async def on_sale(uow: UnitOfWork, env: Envelope) -> None:
    sale = SaleRecorded.model_validate(env.data)
    sign = -1.0 if sale.type == "sale" else 1.0
    await _apply_delta(uow, sale.event_id, sale.location, sale.sku, sale.time, sign * sale.quantity)
    day = await local_day(uow, sale.location, sale.time)
    await repo.add_daily_sales(uow.session, sale.location, sale.sku, day, -sign * sale.quantity)
    if sale.type == "sale":
        await _touch(uow, sale.location, sale.sku, sale.time, sale=True)
    await recompute(uow, sale.location, sale.sku)


async def on_stock(uow: UnitOfWork, env: Envelope) -> None:
    change = StockChanged.model_validate(env.data)
    if change.type == "stock_adjustment":
        await _apply_delta(uow, change.event_id, change.location, change.sku, change.time, change.quantity or 0,
                           change.po_id)
        if change.reason == "transfer_in":  # the transfer arrived: it no longer counts as on order
            await repo.close_transfers(uow.session, change.location, change.sku, change.time)
    else:
        await _touch(uow, change.location, change.sku, change.time)
        row = await repo.stock_row(uow.session, change.location, change.sku)
        if row.count_at is None or change.time >= row.count_at:
            after = await repo.delta_after(uow.session, change.location, change.sku, change.time)
            await repo.update_stock(uow.session, change.location, change.sku, count_on_hand=change.on_hand,
                                    count_at=change.time, delta_since_count=after)
    await recompute(uow, change.location, change.sku)


async def on_master(uow: UnitOfWork, env: Envelope) -> None:
    master = MasterDataChanged.model_validate(env.data)
    data = master.data
    affected: list[tuple[str, str]] = []
    if master.type == "item":
        await repo.upsert(uow.session, items, {"sku": data["sku"], "data": data})
        affected = await repo.keys_for_sku(uow.session, data["sku"])
    elif master.type == "location":
        await repo.upsert(uow.session, locations, {"location": data["location"], "data": data})
    elif master.type == "lane":
        await repo.upsert(uow.session, lanes, {"from_location": data["from_location"],
                                               "to_location": data["to_location"], "data": data})
    elif master.type == "supplier_item":
        await repo.upsert(uow.session, supplier_items, {"supplier_id": data["supplier_id"], "sku": data["sku"],
                                                        "data": data, "primary": bool(data.get("primary"))})
        affected = await repo.keys_for_sku(uow.session, data["sku"])
    elif master.type == "policy":
        rule = policy_event_rule(data)
        if rule is None:
            return
        await repo.upsert(uow.session, overrides, {"scope": rule["id"], "data": rule})
        if data.get("sku"):
            affected = await repo.keys_for_sku(uow.session, data["sku"])
    for location, sku in affected:
        await recompute(uow, location, sku)


async def on_forecast(uow: UnitOfWork, env: Envelope) -> None:
    forecast = DemandForecast.model_validate(env.data)
    row = {"location": forecast.location, "sku": forecast.sku, "as_of": forecast.as_of,
           "payload": forecast.model_dump(mode="json")}
    await repo.upsert(uow.session, repo.forecasts, row)
    await repo.upsert(uow.session, forecast_history, row)  # the event clock reads the one as of D - 1
    if await repo.stock_row(uow.session, forecast.location, forecast.sku):
        await recompute(uow, forecast.location, forecast.sku)


async def on_promotion(uow: UnitOfWork, env: Envelope) -> None:
    promo = PromotionPlanned.model_validate(env.data)
    await repo.upsert(uow.session, promotions, {"location": promo.location or "*", "sku": promo.sku,
                                                "start": promo.start.isoformat(),
                                                "data": promo.model_dump(mode="json")})
    for location, sku in await repo.keys_for_sku(uow.session, promo.sku):
        if promo.location in (None, location):
            await recompute(uow, location, sku)


async def on_purchase_order(uow: UnitOfWork, env: Envelope) -> None:
    """A PO change: its open lines are on order; the reorders it carries are confirmed (or closed)."""
    po = PurchaseOrderChanged.model_validate(env.data)
    open_ = po.status in repo.OPEN_PO_STATUSES
    await repo.replace_po_lines(uow.session, po.po_id, [
        {"po_id": po.po_id, "location": ln.location, "sku": ln.sku, "supplier_id": po.supplier_id,
         "status": po.status, "open_quantity": max(ln.quantity - ln.received_quantity, 0) if open_ else 0,
         "received_quantity": ln.received_quantity,
         "expected_date": po.eta or po.promised_date or po.expected_date} for ln in po.lines])
    reorder_ids = [ln.reorder_id for ln in po.lines if ln.reorder_id]
    await repo.set_reorders_status(uow.session, reorder_ids, "confirmed" if open_ or po.status == "received"
                                   else "closed", po.po_id)
    if po.status == "received" and po.received_at:
        await _learn_lead_time(uow, po)
    for ln in po.lines:
        await recompute(uow, ln.location, ln.sku)


async def _learn_lead_time(uow: UnitOfWork, po: PurchaseOrderChanged) -> None:
    """Replenishment lead time (docs/contract.md §10): the location's local receipt date minus its local decision date,
    whole days. Both are event times (the PO's created_at is its reorder's decision under the event clock), so a
    replay of history learns what live learned; a value ≤ 0 (clock skew, a receipt booked early) is never kept."""
    decided = po.created_at or po.sent_at
    if decided is None:
        return
    for ln in po.lines:
        days = ((await local_day(uow, ln.location, po.received_at)) - (await local_day(uow, ln.location, decided))).days
        if days >= 1:
            await repo.upsert(uow.session, repo.lead_times, {"po_id": po.po_id, "sku": ln.sku,
                                                             "supplier_id": po.supplier_id, "days": float(days)})


HANDLERS = {
    "replenish.ingest.sale": on_sale, "replenish.ingest.return": on_sale,
    "replenish.ingest.stock_count": on_stock, "replenish.ingest.stock_adjustment": on_stock,
    "replenish.ingest.promotion": on_promotion, "replenish.forecast.demand": on_forecast,
    "replenish.orders.purchase_order": on_purchase_order,
    **{f"replenish.ingest.{t}": on_master for t in ("item", "location", "lane", "supplier", "supplier_item",
                                                     "policy")},
}
TOPICS = [SALES, STOCK, MASTER, PROMOTIONS, DEMAND, PURCHASE_ORDERS]


async def dispatch(uow: UnitOfWork, env: Envelope) -> None:
    """Apply one event of any input topic."""
    handler = HANDLERS.get(env.type)
    if handler is not None:
        await handler(uow, env)
