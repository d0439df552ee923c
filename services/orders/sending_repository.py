"""Async repository of the orders schema's sending state: push deliveries and each supplier's circuit breaker.
The rest of the schema is services/orders/repository.py, which re-exports these so callers keep one `repo`."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.domain import CircuitBreaker
from services.orders.models import breakers, deliveries


async def enqueue_delivery(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(deliveries).values(**values).on_conflict_do_nothing())


async def due_deliveries(session: AsyncSession, now: datetime, limit: int, per_supplier: int) -> list[Any]:
    """Due pushes, locked (rows another replica holds are skipped), oldest due first, at most `per_supplier`
    of one supplier (so a supplier with many due pushes cannot fill the batch); a revision is never due
    while an older revision of the same PO is still pending, so a PO's revisions reach the supplier in order."""
    d, older = deliveries.c, deliveries.alias("older")
    earlier_pending = exists().where(older.c.po_id == d.po_id, older.c.revision < d.revision,
                                     older.c.status == "pending")
    due = and_(d.status == "pending", d.next_attempt_at <= now)
    ranked = (select(d.id, func.row_number().over(partition_by=d.supplier_id, order_by=(d.next_attempt_at, d.id))
                     .label("n")).where(due, ~earlier_pending).subquery())
    stmt = (select(deliveries).where(d.id.in_(select(ranked.c.id).where(ranked.c.n <= per_supplier)), due)
            .order_by(d.next_attempt_at, d.id).limit(limit).with_for_update(skip_locked=True))
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
             "first_attempt_at": r.first_attempt_at.isoformat() if r.first_attempt_at else None,
             "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
             "at": r.updated_at.isoformat()} for r in rows]


async def breaker(session: AsyncSession, supplier_id: str) -> CircuitBreaker:
    row = (await session.execute(select(breakers).where(breakers.c.supplier_id == supplier_id)
                                 .with_for_update())).first()
    if row is None:
        return CircuitBreaker()
    return CircuitBreaker(state=row.state, failures=row.failures, opened_at=row.opened_at, probe_at=row.probe_at)


async def save_breaker(session: AsyncSession, supplier_id: str, b: CircuitBreaker) -> None:
    values = {"supplier_id": supplier_id, "state": b.state, "failures": b.failures, "opened_at": b.opened_at,
              "probe_at": b.probe_at}
    stmt = insert(breakers).values(**values)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["supplier_id"], set_={k: stmt.excluded[k] for k in values if k != "supplier_id"}))


async def delivery_by_key(session: AsyncSession, key: str) -> Any:
    stmt = select(deliveries).where(deliveries.c.idempotency_key == key).with_for_update()
    return (await session.execute(stmt)).first()


async def current_delivery(session: AsyncSession, po_id: str, revision: int) -> Any:
    stmt = (select(deliveries).where(deliveries.c.po_id == po_id, deliveries.c.revision == revision)
            .with_for_update())
    return (await session.execute(stmt)).first()
