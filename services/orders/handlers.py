"""Orders use cases driven by events: reorder -> PO, receipt/transfer -> PO, email outcomes, master copies.

`clock` is the service's Clock (shared/clock.py): decisions and stamps use `clock.now()` (wall time, or the
latest event time consumed under REPLENISH_CLOCK=event); transport (push due times, request ids) uses
`utcnow()`, the wall clock, in both modes.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import ValidationError as PayloadInvalid

from services.orders import repository as repo
from services.orders.domain import (
    SYSTEM,
    AuditEntry,
    PurchaseOrder,
    Reorder,
    add_reorder,
    apply_receipt,
    idempotency_key,
    known_timezone,
    mark_delivered,
    mark_delivery_failed,
    po_id_for,
    push_body,
    render_csv,
    snapshot,
    window_key,
)
from services.orders.domain import ValidationError as DomainInvalid
from services.orders.domain.model import PROPOSED
from services.orders.models import locations, supplier_items, suppliers
from services.orders.settings import OrdersSettings
from shared.bus.consumer import PoisonMessage
from shared.clock import Clock
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import (
    DELIVERIES,
    MASTER,
    PURCHASE_ORDERS,
    REORDERS,
    STOCK,
    DeliveryRecorded,
    MasterDataChanged,
    ReorderDecided,
    StockChanged,
)

PO_TYPE = "replenish.orders.purchase_order"
# A request to notify: email this PO (CSV attached) to a supplier without a webhook. Same topic as the
# snapshots (key po_id) so it is ordered after the `sent` snapshot; consumers dispatch on `type`.
PO_EMAIL_TYPE = "replenish.orders.po_email"
DELIVERY_TYPE = "replenish.notify.delivery"
TOPICS = [REORDERS, STOCK, MASTER, DELIVERIES]


def utcnow() -> datetime:
    """The wall clock, for transport only (push due times, unique request ids)."""
    return datetime.now(UTC)


async def commit_change(uow: UnitOfWork, before: PurchaseOrder | None, after: PurchaseOrder,
                        entries: list[AuditEntry], now: datetime) -> None:
    """Store the PO and its audit; publish the snapshot when it changed; re-push a revised sent PO."""
    await repo.save_po(uow.session, after)
    await repo.add_audit(uow.session, after.po_id, [e for e in entries if e is not None])
    if before is None or snapshot(before) != snapshot(after):
        await uow.publish(PURCHASE_ORDERS, key=after.po_id, type=PO_TYPE, time=now, data=snapshot(after))
    if before is not None and before.sent_at is not None and after.send_revision > before.send_revision:
        await request_delivery(uow, after, now)


async def request_delivery(uow: UnitOfWork, po: PurchaseOrder, now: datetime) -> str:
    """Queue this PO revision for its supplier: a webhook push, else an email through notify. Returns channel."""
    if po.is_transfer:
        return "none"  # an internal transfer: nobody outside to tell
    key = idempotency_key(po.po_id, po.send_revision)
    hook = await repo.webhook(uow.session, po.supplier_id)
    row = {"po_id": po.po_id, "revision": po.send_revision, "supplier_id": po.supplier_id,
           "idempotency_key": key, "body": push_body(po).decode()}
    if hook is not None:
        await repo.enqueue_delivery(uow.session, {**row, "channel": "webhook", "status": "pending",
                                                  "next_attempt_at": utcnow()})
        return "webhook"
    await repo.enqueue_delivery(uow.session, {**row, "channel": "email", "status": "requested"})
    await publish_email_request(uow, po, now, key, key)
    return "email"


async def redeliver(uow: UnitOfWork, po: PurchaseOrder, now: datetime) -> str:
    """Hand the PO's current revision to delivery again (same body and key); a webhook set since wins."""
    key = idempotency_key(po.po_id, po.send_revision)
    row = await repo.current_delivery(uow.session, po.po_id, po.send_revision)
    if row is None:
        return await request_delivery(uow, po, now)
    reset = {"attempts": 0, "last_status_code": None, "last_error": None}
    if await repo.webhook(uow.session, po.supplier_id) is not None:
        await repo.update_delivery(uow.session, row.id, channel="webhook", status="pending",
                                   next_attempt_at=utcnow(), **reset)
        return "webhook"
    await repo.update_delivery(uow.session, row.id, channel="email", status="requested", next_attempt_at=None,
                               **reset)
    # a new envelope id (the first request's is deduped by notify's inbox), the same Idempotency-Key
    await publish_email_request(uow, po, now, f"{key}:resend:{utcnow().isoformat()}", key, resend=True)
    return "email"


async def publish_email_request(uow: UnitOfWork, po: PurchaseOrder, now: datetime, event_id: str, key: str,
                                resend: bool = False) -> None:
    master = await repo.supplier(uow.session, po.supplier_id) or {}
    await uow.publish(PURCHASE_ORDERS, key=po.po_id, type=PO_EMAIL_TYPE, time=now, id=event_id, data={
        "po_id": po.po_id, "supplier_id": po.supplier_id, "revision": po.send_revision, "status": po.status,
        "to": master.get("email"), "supplier_name": master.get("name"), "idempotency_key": key,
        "subject": f"Purchase order {po.po_id} (revision {po.send_revision})",
        "attachment": {"filename": f"{po.po_id}.csv", "content_type": "text/csv", "content": render_csv(po)},
        "resend": resend})


def _entry(po: PurchaseOrder, action: str, now: datetime, reason: str) -> AuditEntry:
    return AuditEntry(at=now, actor=SYSTEM, action=action, from_status=po.status, to_status=po.status,
                      reason=reason)


async def _open_po(uow: UnitOfWork, reorder: Reorder, cfg: OrdersSettings,
                   clock: Clock) -> tuple[PurchaseOrder | None, str | None, datetime]:
    """The PO the reorder joins (or None), the po_id a new one gets (None: from the reorder), and `now`.

    Wall clock: the supplier's proposed PO younger than the window. Event clock: the PO of the reorder's
    event-time window at its location (window_key), so the same reorders make the same POs in any arrival
    order; a window already closed (it cannot be under the day markers) leaves the reorder a PO of its own.
    """
    party = reorder.party_id
    if not clock.is_event:
        now = clock.now()
        return await repo.open_po_for(uow.session, party, now - timedelta(seconds=cfg.window_s)), None, now
    at = reorder.decided_at if reorder.decided_at.tzinfo else reorder.decided_at.replace(tzinfo=UTC)
    tz = known_timezone(await repo.location_timezone(uow.session, reorder.location))
    po_id = po_id_for(party, window_key(reorder.location, at, cfg.window_s, tz))
    po = await repo.get_po(uow.session, po_id, lock=True)
    if po is not None and po.status != PROPOSED:
        return None, None, at
    return po, po_id, at


async def on_reorder(uow: UnitOfWork, env: Envelope, cfg: OrdersSettings, clock: Clock) -> None:
    """Put the reorder on its supplier's open proposed PO; a reorder already on any PO adds nothing."""
    try:
        reorder = Reorder.from_mapping(ReorderDecided.model_validate(env.data).model_dump())
        party = reorder.party_id
    except (PayloadInvalid, DomainInvalid) as exc:
        raise PoisonMessage(f"invalid reorder: {str(exc)[:300]}") from exc
    clock.observe(reorder.decided_at)
    await repo.lock_supplier(uow.session, party)
    if await repo.po_for_reorder(uow.session, reorder.reorder_id):
        return
    po, po_id, now = await _open_po(uow, reorder, cfg, clock)
    item = await repo.supplier_item(uow.session, party, reorder.sku) if reorder.kind == "purchase" else None
    after, added = add_reorder(po, reorder, item, now, po_id=po_id)
    if not added:
        return
    await repo.index_reorder(uow.session, reorder.reorder_id, after.po_id)
    action = "create" if po is None else "add_line"
    await commit_change(uow, po, after, [_entry(after, action, now, f"reorder {reorder.reorder_id}: "
                                                f"{reorder.quantity:g} of {reorder.sku} at {reorder.location}")],
                        now)


def _receipt_reason(change: StockChanged) -> str | None:
    """`receipt` with a po_id books on that PO; `transfer_in` books on a transfer PO (po_id optional)."""
    if change.type != "stock_adjustment":
        return None
    if change.reason == "receipt" and change.po_id:
        return "receipt"
    return "transfer_in" if change.reason == "transfer_in" else None


async def _receiving_po(uow: UnitOfWork, change: StockChanged, kind: str) -> PurchaseOrder | None:
    if change.po_id:
        return await repo.get_po(uow.session, change.po_id, lock=True)
    # transfer_in without po_id: the oldest open transfer PO with an open line for this sku and location
    return await repo.open_transfer_for(uow.session, change.sku, change.location) if kind == "transfer_in" else None


async def on_stock(uow: UnitOfWork, env: Envelope, clock: Clock) -> None:
    """A stock event moves the event clock; a receipt or transfer arrival is booked on its PO."""
    clock.observe(env.time)
    if env.type == "replenish.ingest.stock_adjustment":
        await on_receipt(uow, env, clock)


async def on_receipt(uow: UnitOfWork, env: Envelope, clock: Clock) -> None:
    """Book a receipt (po_id) or a transfer arrival on its PO; anything odd is flagged, never dropped."""
    change = StockChanged.model_validate(env.data)
    at = change.time if change.time.tzinfo else change.time.replace(tzinfo=UTC)
    clock.observe(at)
    kind = _receipt_reason(change)
    if kind is None:
        return
    flag = {"event_id": change.event_id, "po_id": change.po_id, "sku": change.sku,
            "location": change.location, "quantity": change.quantity or 0.0, "at": at}
    po = await _receiving_po(uow, change, kind)
    if po is None:
        if change.po_id:
            await repo.add_flags(uow.session, [{**flag, "kind": "unknown_po",
                                                "detail": f"{kind} for unknown PO {change.po_id}"}])
        return  # a transfer_in no open transfer PO expects: a stock movement orders did not plan
    flag["po_id"] = po.po_id
    try:
        after, outcome = apply_receipt(po, change.sku, change.location, change.quantity or 0.0, at,
                                       receipt_id=change.event_id)
    except DomainInvalid as exc:
        await repo.add_flags(uow.session, [{**flag, "kind": "invalid_receipt", "detail": str(exc)}])
        return
    if outcome.duplicate:
        return
    await repo.add_flags(uow.session, [{**flag, "kind": f.kind, "quantity": f.quantity, "detail": f.detail}
                                       for f in outcome.flags])
    now = clock.now()
    entries = [outcome.audit] if outcome.audit else [
        _entry(after, "receipt", now, f"booked {change.quantity:g} of {change.sku} at {change.location}")]
    await commit_change(uow, po, after, entries, now)


async def on_delivery_outcome(uow: UnitOfWork, env: Envelope, clock: Clock) -> None:
    """notify's outcome of a PO email: the delivery row and the PO's delivery_status follow it.

    sent -> delivered; failed or suppressed -> failed with notify's reason, which the next delay pass
    turns into supplier_unresponsive (critical) naming the PO and the reason.
    """
    try:
        outcome = DeliveryRecorded.model_validate(env.data)
    except PayloadInvalid as exc:
        raise PoisonMessage(f"invalid delivery outcome: {str(exc)[:300]}") from exc
    if outcome.kind != "po_email":
        return  # alert notifications are notify's own business
    row = await repo.delivery_by_key(uow.session, outcome.idempotency_key)
    if row is None or row.channel != "email" or row.status == "delivered":
        return  # not ours, a webhook took over (resend), or already delivered: a late failure changes nothing
    ok = outcome.status == "sent"
    reason = None if ok else f"email {outcome.status}: {outcome.reason or 'no reason given'}"
    await repo.update_delivery(uow.session, row.id, status="delivered" if ok else "failed",
                               attempts=outcome.attempts, last_error=reason)
    po = await repo.get_po(uow.session, row.po_id, lock=True)
    if po is None or po.send_revision != row.revision:
        return  # an older revision: the current one has its own delivery
    now = clock.now()
    after = (mark_delivered(po, outcome.attempts) if ok
             else mark_delivery_failed(po, outcome.attempts, outcome.at, reason))
    entry = _entry(after, "delivery", now, f"PO email {outcome.status} (revision {row.revision})"
                   + (f": {outcome.reason}" if outcome.reason else ""))
    await commit_change(uow, po, after, [entry], now)


async def on_master(uow: UnitOfWork, env: Envelope) -> None:
    master = MasterDataChanged.model_validate(env.data)
    data = master.data
    if master.type == "supplier" and data.get("supplier_id"):
        await repo.upsert(uow.session, suppliers, {"supplier_id": str(data["supplier_id"]), "data": data})
    elif master.type == "supplier_item" and data.get("supplier_id") and data.get("sku"):
        await repo.upsert(uow.session, supplier_items, {"supplier_id": str(data["supplier_id"]),
                                                        "sku": str(data["sku"]), "data": data})
    elif master.type == "location" and data.get("location"):
        await repo.upsert(uow.session, locations, {"location": str(data["location"]), "data": data})
