"""Async repositories of the orders schema: POs as domain objects, audit, index, master, sending state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.codec import po_from_dict, po_to_dict
from services.orders.domain import AuditEntry, CircuitBreaker, PurchaseOrder, SupplierItem
from services.orders.models import (
    alert_states,
    breakers,
    deliveries,
    po_audit,
    purchase_orders,
    receipt_flags,
    reorder_index,
    supplier_items,
    suppliers,
    webhooks,
)

PO = purchase_orders.c


async def get_po(session: AsyncSession, po_id: str, *, lock: bool = False) -> PurchaseOrder | None:
    stmt = select(PO.data).where(PO.po_id == po_id)
    row = (await session.execute(stmt.with_for_update() if lock else stmt)).first()
    return po_from_dict(row.data) if row else None


async def save_po(session: AsyncSession, po: PurchaseOrder, now: datetime) -> None:
    values = {"po_id": po.po_id, "supplier_id": po.supplier_id, "status": po.status,
              "created_at": po.created_at, "updated_at": now, "data": po_to_dict(po)}
    stmt = insert(purchase_orders).values(**values)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[PO.po_id], set_={k: stmt.excluded[k] for k in ("status", "updated_at", "data")}))


async def open_po_for(session: AsyncSession, supplier_id: str, since: datetime) -> PurchaseOrder | None:
    """The supplier's proposed PO whose window is still open, locked for the caller's transaction."""
    stmt = (select(PO.data).where(PO.supplier_id == supplier_id, PO.status == "proposed", PO.created_at > since)
            .order_by(PO.created_at.desc()).limit(1).with_for_update())
    row = (await session.execute(stmt)).first()
    return po_from_dict(row.data) if row else None


async def lock_supplier(session: AsyncSession, supplier_id: str) -> None:
    """Serialise consolidation per supplier across replicas (transaction-scoped advisory lock)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"orders:supplier:{supplier_id}"))))


async def claim_pos(session: AsyncSession, where: Any, limit: int = 100) -> list[PurchaseOrder]:
    """POs matching `where`, locked; rows another worker holds are skipped, not waited for."""
    stmt = (select(PO.data).where(where).order_by(PO.created_at).limit(limit)
            .with_for_update(skip_locked=True))
    return [po_from_dict(r.data) for r in (await session.execute(stmt))]


async def list_pos(session: AsyncSession, *, status: str | None = None, supplier_id: str | None = None,
                   sent_only: bool = False, limit: int = 500) -> list[PurchaseOrder]:
    stmt = select(PO.data).order_by(PO.created_at.desc(), PO.po_id).limit(limit)
    if status:
        stmt = stmt.where(PO.status == status)
    if supplier_id:
        stmt = stmt.where(PO.supplier_id == supplier_id)
    if sent_only:
        stmt = stmt.where(PO.data["sent_at"].astext.is_not(None))
    return [po_from_dict(r.data) for r in (await session.execute(stmt))]


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(PO.status, func.count()).group_by(PO.status))
    return {status: n for status, n in rows}


async def add_audit(session: AsyncSession, po_id: str, entries: list[AuditEntry]) -> None:
    if entries:
        await session.execute(insert(po_audit), [{"po_id": po_id, "at": e.at, "actor": e.actor,
                                                  "action": e.action, "from_status": e.from_status,
                                                  "to_status": e.to_status, "reason": e.reason}
                                                 for e in entries])


async def audit_for(session: AsyncSession, po_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(select(po_audit).where(po_audit.c.po_id == po_id).order_by(po_audit.c.id))
    return [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "from_status": r.from_status,
             "to_status": r.to_status, "reason": r.reason} for r in rows]


async def po_for_reorder(session: AsyncSession, reorder_id: str) -> str | None:
    return (await session.execute(select(reorder_index.c.po_id)
                                  .where(reorder_index.c.reorder_id == reorder_id))).scalar()


async def index_reorder(session: AsyncSession, reorder_id: str, po_id: str) -> None:
    await session.execute(insert(reorder_index).values(reorder_id=reorder_id, po_id=po_id)
                          .on_conflict_do_nothing())


async def upsert(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert(table).values(**values)
    rest = {k: stmt.excluded[k] for k in values if k not in keys}
    await session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=rest) if rest
                          else stmt.on_conflict_do_nothing())


async def supplier_item(session: AsyncSession, supplier_id: str, sku: str) -> SupplierItem | None:
    row = (await session.execute(select(supplier_items.c.data).where(
        supplier_items.c.supplier_id == supplier_id, supplier_items.c.sku == sku))).first()
    return SupplierItem.from_mapping(row.data) if row else None


async def supplier(session: AsyncSession, supplier_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(suppliers.c.data).where(suppliers.c.supplier_id == supplier_id))).first()
    return row.data if row else None


async def webhook(session: AsyncSession, supplier_id: str) -> tuple[str, str] | None:
    row = (await session.execute(select(webhooks.c.url, webhooks.c.secret)
                                 .where(webhooks.c.supplier_id == supplier_id))).first()
    return (row.url, row.secret) if row else None


async def enqueue_delivery(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(deliveries).values(**values).on_conflict_do_nothing())


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[Any]:
    stmt = (select(deliveries).where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    return list(await session.execute(stmt))


async def delivery(session: AsyncSession, delivery_id: int, *, lock: bool = False) -> Any:
    stmt = select(deliveries).where(deliveries.c.id == delivery_id)
    return (await session.execute(stmt.with_for_update() if lock else stmt)).first()


async def update_delivery(session: AsyncSession, delivery_id: int, **values: Any) -> None:
    await session.execute(update(deliveries).where(deliveries.c.id == delivery_id)
                          .values(updated_at=func.now(), **values))


async def deliveries_for(session: AsyncSession, po_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(select(deliveries).where(deliveries.c.po_id == po_id).order_by(deliveries.c.id))
    return [{"revision": r.revision, "channel": r.channel, "status": r.status, "attempts": r.attempts,
             "idempotency_key": r.idempotency_key, "last_status_code": r.last_status_code,
             "last_error": r.last_error,
             "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
             "at": r.updated_at.isoformat()} for r in rows]


async def breaker(session: AsyncSession, supplier_id: str) -> CircuitBreaker:
    row = (await session.execute(select(breakers).where(breakers.c.supplier_id == supplier_id)
                                 .with_for_update())).first()
    if row is None:
        return CircuitBreaker()
    return CircuitBreaker(state=row.state, failures=row.failures, opened_at=row.opened_at, probe_at=row.probe_at)


async def save_breaker(session: AsyncSession, supplier_id: str, b: CircuitBreaker) -> None:
    await upsert(session, breakers, {"supplier_id": supplier_id, "state": b.state, "failures": b.failures,
                                     "opened_at": b.opened_at, "probe_at": b.probe_at})


async def alert_state(session: AsyncSession) -> dict[str, Any]:
    """Every alert key with what was last published for it."""
    return {r.key: r for r in await session.execute(select(alert_states))}


async def add_flags(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(receipt_flags), rows)


async def flags_for(session: AsyncSession, po_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(select(receipt_flags).where(receipt_flags.c.po_id == po_id)
                                 .order_by(receipt_flags.c.id))
    return [{"kind": r.kind, "sku": r.sku, "location": r.location, "quantity": r.quantity, "detail": r.detail,
             "event_id": r.event_id, "at": r.at.isoformat()} for r in rows]
