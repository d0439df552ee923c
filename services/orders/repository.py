"""Async repositories of the orders schema: POs as domain objects, audit, index, master, sending state,
and the event clock's markers and decided days."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.codec import po_from_dict, po_to_dict
from services.orders.domain import AuditEntry, PurchaseOrder, SupplierItem
from services.orders.domain.model import PROPOSED, SENT, TRANSFER_PREFIX, WITH_SUPPLIER
from services.orders.models import (
    alert_states,
    day_marks,
    decided_days,
    locations,
    po_audit,
    purchase_orders,
    receipt_flags,
    reorder_index,
    supplier_items,
    suppliers,
    webhooks,
)
from services.orders.sending_repository import (  # noqa: F401  (re-exported: callers use one `repo`)
    breaker,
    current_delivery,
    deliveries_for,
    delivery,
    delivery_by_key,
    due_deliveries,
    enqueue_delivery,
    save_breaker,
    update_delivery,
)
from shared.events import markers
from shared.events.markers import DayMark, day_end

PO = purchase_orders.c


async def get_po(session: AsyncSession, po_id: str, *, lock: bool = False) -> PurchaseOrder | None:
    stmt = select(PO.data).where(PO.po_id == po_id)
    row = (await session.execute(stmt.with_for_update() if lock else stmt)).first()
    return po_from_dict(row.data) if row else None


async def save_po(session: AsyncSession, po: PurchaseOrder) -> None:
    """Upsert the PO; every save marks it for the next delay pass (see delay_candidates).

    updated_at is processing time (the database's clock), never event time: mark_checked compares it to
    tell a PO saved again since the pass read it, which two saves at one event time could not.
    """
    values = {"po_id": po.po_id, "supplier_id": po.supplier_id, "status": po.status,
              "created_at": po.created_at, "updated_at": func.clock_timestamp(), "data": po_to_dict(po),
              "delay_dirty": True}
    stmt = insert(purchase_orders).values(**values)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[PO.po_id],
        set_={k: stmt.excluded[k] for k in ("status", "created_at", "updated_at", "data", "delay_dirty")}))


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
                   sent_only: bool = False, limit: int = 500,
                   after: tuple[datetime, str] | None = None) -> list[PurchaseOrder]:
    """Newest first (ties by po_id); `after` = (created_at, po_id) of the previous page's last PO."""
    stmt = select(PO.data).order_by(PO.created_at.desc(), PO.po_id).limit(limit)
    if after:
        stmt = stmt.where(or_(PO.created_at < after[0], and_(PO.created_at == after[0], PO.po_id > after[1])))
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


async def alert_state(session: AsyncSession, keys: list[str] | None = None) -> dict[str, Any]:
    """What was last published per alert key (these keys only, when given)."""
    stmt = select(alert_states)
    if keys is not None:
        stmt = stmt.where(alert_states.c.key.in_(keys))
    return {r.key: r for r in await session.execute(stmt)}


async def add_flags(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(receipt_flags), rows)


async def flags_for(session: AsyncSession, po_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(select(receipt_flags).where(receipt_flags.c.po_id == po_id)
                                 .order_by(receipt_flags.c.id))
    return [{"kind": r.kind, "sku": r.sku, "location": r.location, "quantity": r.quantity, "detail": r.detail,
             "event_id": r.event_id, "at": r.at.isoformat()} for r in rows]


async def delay_candidates(session: AsyncSession, now: datetime, limit: int) -> list[tuple[PurchaseOrder, datetime]]:
    """POs saved since the last delay pass, or whose next deadline has passed, with the updated_at seen."""
    stmt = (select(PO.data, PO.updated_at)
            .where(or_(PO.delay_dirty, PO.next_check_at <= now)).limit(limit))
    return [(po_from_dict(r.data), r.updated_at) for r in await session.execute(stmt)]


async def mark_checked(session: AsyncSession, checked: list[dict[str, Any]]) -> None:
    """Clear dirty and store the next deadline; a PO saved again meanwhile (other updated_at) stays dirty."""
    if checked:
        stmt = (update(purchase_orders)
                .where(PO.po_id == bindparam("b_po_id"), PO.updated_at == bindparam("b_seen"))
                .values(delay_dirty=False, next_check_at=bindparam("b_next")))
        await session.execute(stmt, checked)


async def awaiting_ack(session: AsyncSession, supplier_ids: list[str]) -> list[PurchaseOrder]:
    """Every sent, not yet acknowledged PO of these suppliers (what supplier_unresponsive is about)."""
    if not supplier_ids:
        return []
    rows = await session.execute(select(PO.data).where(PO.supplier_id.in_(supplier_ids), PO.status == SENT))
    return [po_from_dict(r.data) for r in rows]


async def open_transfer_for(session: AsyncSession, sku: str, location: str) -> PurchaseOrder | None:
    """The oldest transfer PO still on its way with an open line for sku at location, locked."""
    stmt = (select(PO.data).where(PO.supplier_id.startswith(TRANSFER_PREFIX), PO.status.in_(sorted(WITH_SUPPLIER)),
                                  PO.data["lines"].contains([{"sku": sku, "location": location}]))
            .order_by(PO.created_at, PO.po_id).limit(20).with_for_update())
    for row in await session.execute(stmt):
        po = po_from_dict(row.data)
        line = po.line(sku, location)
        if line is not None and line.open_quantity > 0:
            return po
    return None


async def location_timezone(session: AsyncSession, location: str) -> str | None:
    """The location's IANA timezone from master data (None: unknown, read as UTC)."""
    row = (await session.execute(select(locations.c.data["timezone"].astext)
                                 .where(locations.c.location == location))).first()
    return row[0] if row and row[0] else None


async def proposed_at(session: AsyncSession, location: str, through: datetime) -> list[PurchaseOrder]:
    """Proposed POs with a line at `location` created at or before `through`, locked, oldest first."""
    stmt = (select(PO.data).where(PO.status == PROPOSED, PO.created_at <= through,
                                  PO.data["lines"].contains([{"location": location}]))
            .order_by(PO.created_at, PO.po_id).with_for_update())
    return [po_from_dict(r.data) for r in await session.execute(stmt)]


async def record_mark(session: AsyncSession, mark: DayMark, topic: str) -> bool:
    return await markers.record_mark(session, day_marks, mark, topic)


async def closed_days(session: AsyncSession, stream: str, topics: list[str], location: str,
                      after: date | None) -> list[date]:
    return await markers.closed_days(session, day_marks, stream, topics, location, after)


async def last_decided(session: AsyncSession, location: str) -> date | None:
    return await markers.last_decided(session, decided_days, location)


async def record_decided(session: AsyncSession, location: str, day: date, tz: str | None) -> None:
    await markers.record_decided(session, decided_days, location, day, tz)


async def decided_through(session: AsyncSession) -> datetime | None:
    return await markers.decided_through(session, decided_days)


async def latest_event_time(session: AsyncSession) -> datetime | None:
    """The latest event time orders has stamped or decided: where a restarted event clock resumes."""
    created = (await session.execute(select(func.max(PO.created_at)))).scalar()
    audited = (await session.execute(select(func.max(po_audit.c.at)))).scalar()
    rows = (await session.execute(select(decided_days.c.day, decided_days.c.timezone))).all()
    times = [t for t in (created, audited, *(day_end(day, tz) for day, tz in rows)) if t is not None]
    return max(times, default=None)
