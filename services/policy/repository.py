"""Policy's reads and writes, returning plain rows and dicts for the handlers."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.policy.models import (
    daily_sales,
    forecasts,  # noqa: F401  (handlers write through repo.forecasts)
    lead_times,  # noqa: F401  (handlers write through repo.lead_times)
    ledger,
    po_lines,
    positions,
    reorders,
    rules,
    segments,
    stock,
)
from shared.observability.metrics import DECIDED_KEYS

OPEN_PO_STATUSES = ("proposed", "pending_approval", "approved", "sent", "acknowledged", "shipped",
                    "partially_received")


async def upsert(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert(table).values(**values)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=keys, set_={k: stmt.excluded[k] for k in values if k not in keys}))


async def upsert_many(session: AsyncSession, table: Table, rows: list[dict[str, Any]], chunk: int = 2000) -> None:
    keys = [c.name for c in table.primary_key.columns]
    for start in range(0, len(rows), chunk):
        stmt = insert(table).values(rows[start:start + chunk])
        await session.execute(stmt.on_conflict_do_update(
            index_elements=keys, set_={k: stmt.excluded[k] for k in rows[0] if k not in keys}))


async def segment_for(session: AsyncSession, location: str, sku: str) -> Any:
    return (await session.execute(select(segments).where(segments.c.location == location,
                                                         segments.c.sku == sku))).first()


async def get_data(session: AsyncSession, table: Table, **keys: str) -> dict[str, Any] | None:
    row = (await session.execute(select(table.c.data).where(
        *[table.c[k] == v for k, v in keys.items()]))).first()
    return row.data if row else None




async def stock_row(session: AsyncSession, location: str, sku: str, *, lock: bool = False) -> Any:
    stmt = select(stock).where(stock.c.location == location, stock.c.sku == sku)
    return (await session.execute(stmt.with_for_update() if lock else stmt)).first()


async def ensure_stock(session: AsyncSession, location: str, sku: str) -> None:
    await session.execute(insert(stock).values(location=location, sku=sku).on_conflict_do_nothing())


async def add_ledger(session: AsyncSession, *, event_id: str, location: str, sku: str, event_time: datetime,
                     delta: float, po_id: str | None = None) -> bool:
    result = await session.execute(insert(ledger).values(
        event_id=event_id, location=location, sku=sku, event_time=event_time, delta=delta, po_id=po_id)
        .on_conflict_do_nothing().returning(ledger.c.event_id))
    return result.first() is not None


async def delta_after(session: AsyncSession, location: str, sku: str, after: datetime) -> float:
    return float((await session.execute(select(func.coalesce(func.sum(ledger.c.delta), 0.0)).where(
        ledger.c.location == location, ledger.c.sku == sku, ledger.c.event_time > after))).scalar_one())


async def mark_dirty(session: AsyncSession, location: str, sku: str) -> None:
    await mark_dirty_many(session, [(location, sku)])


async def mark_dirty_many(session: AsyncSession, keys: list[tuple[str, str]]) -> None:
    """Inputs of these keys changed now; the first-dirty time is kept until a decision clears it."""
    if keys:
        await session.execute(text(
            "UPDATE policy.stock s SET dirty_at = now(), dirty_since = COALESCE(s.dirty_since, now()) "
            "FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[])) AS v(location, sku) "
            "WHERE s.location = v.location AND s.sku = v.sku"),
            {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys]})


# A key whose latest ingest batch is all applied (batch.track_batches) belongs to the settled lane: nothing of
# that batch can still change it, so the quiet period means nothing for it. It is settled — due now — when the
# batch set or moved its stock, or when it was last claimed a max delay ago or never (a slow mover's sale);
# otherwise (a steady stream's sales) it is due at that last claim + the max delay. While the consumer lags
# (:settled false) nothing is complete: every key waits for the max delay in the quiet lane.
COMPLETE = "(:settled AND batch_id IS NOT NULL AND batch_left = 0)"
SETTLED = (f"({COMPLETE} AND (batch_stock OR claimed_at IS NULL"
           " OR claimed_at <= now() - make_interval(secs => :wait)))")
# Claiming a key clears its marks and its batch (a half-applied batch's remaining events then start a new
# count that never completes: the key falls back to the quiet period, never to an early decision).
_CLEAR = ("UPDATE policy.stock s SET dirty_at = NULL, dirty_since = NULL, batch_id = NULL, batch_stock = false,"
          " claimed_at = now()")


async def claim_settled(session: AsyncSession, max_wait_s: float, limit: int) -> list[tuple[str, str]]:
    """Clear and return up to `limit` settled dirty keys (SETTLED), oldest first-dirty; keys another decider
    is claiming are skipped."""
    rows = await session.execute(text(
        "WITH due AS (SELECT location, sku, COALESCE(dirty_since, dirty_at) AS first FROM policy.stock"
        f"  WHERE dirty_at IS NOT NULL AND {SETTLED} ORDER BY first LIMIT :limit FOR UPDATE SKIP LOCKED)"
        f" {_CLEAR} FROM due d WHERE s.location = d.location AND s.sku = d.sku"
        " RETURNING s.location, s.sku, d.first, 'settled' AS due"),
        {"wait": max_wait_s, "limit": limit, "settled": True})
    return _claimed(rows)


async def next_settled_in(session: AsyncSession, max_wait_s: float) -> float | None:
    """Seconds until the next complete key settles (a stream's key at its last claim + the max delay; 0 or
    less when one is settled but locked); None when none is dirty."""
    return (await session.execute(text(
        f"SELECT CAST(EXTRACT(EPOCH FROM min(CASE WHEN {SETTLED} THEN now()"
        " ELSE claimed_at + make_interval(secs => :wait) END) - now()) AS float8)"
        f" FROM policy.stock WHERE dirty_at IS NOT NULL AND {COMPLETE}"),
        {"wait": max_wait_s, "settled": True})).scalar_one()


async def claim_due(session: AsyncSession, quiet_s: float, max_wait_s: float, limit: int,
                    overdue_limit: int | None = None, *, settled: bool = True) -> list[tuple[str, str]]:
    """Clear and return up to `limit` dirty keys whose own inputs have been quiet `quiet_s`, plus up to
    `overdue_limit` (default `limit`) that are not quiet but waited `max_wait_s`; keys another decider is
    claiming are skipped. With `settled`, keys whose ingest batch is complete are left to the settled lane
    (COMPLETE); without, nothing counts as complete (the consumer lags, or a drain). Quiet keys first (a key
    that just went quiet is not kept behind keys of a steady stream), each group oldest first-dirty; a small
    overdue share keeps passes short, so a key that turns quiet is not held behind a long pass of a steady
    stream's keys."""
    rows = await session.execute(text(
        "WITH quiet AS (SELECT location, sku, COALESCE(dirty_since, dirty_at) AS first FROM policy.stock"
        f"  WHERE dirty_at IS NOT NULL AND dirty_at <= now() - make_interval(secs => :quiet) AND NOT {COMPLETE}"
        "  ORDER BY first LIMIT :limit FOR UPDATE SKIP LOCKED),"
        " overdue AS (SELECT location, sku, COALESCE(dirty_since, dirty_at) AS first FROM policy.stock"
        f"  WHERE dirty_at IS NOT NULL AND dirty_at > now() - make_interval(secs => :quiet) AND NOT {COMPLETE}"
        "  AND COALESCE(dirty_since, dirty_at) <= now() - make_interval(secs => :wait)"
        "  ORDER BY first LIMIT :overdue FOR UPDATE SKIP LOCKED)"
        f" {_CLEAR} FROM (SELECT *, 'quiet' AS due FROM quiet UNION ALL SELECT *, 'overdue' FROM overdue) d"
        " WHERE s.location = d.location AND s.sku = d.sku RETURNING s.location, s.sku, d.first, d.due"),
        {"quiet": quiet_s, "wait": max_wait_s, "limit": limit, "settled": settled,
         "overdue": limit if overdue_limit is None else overdue_limit})
    return _claimed(rows)


def _claimed(rows: Any) -> list[tuple[str, str]]:
    claimed = sorted(rows, key=lambda r: (r.due == "overdue", r.first))
    for r in claimed:
        DECIDED_KEYS.labels(r.due).inc()
    return [(r.location, r.sku) for r in claimed]


async def next_due_in(session: AsyncSession, quiet_s: float, max_wait_s: float, *,
                      settled: bool = True) -> float | None:
    """Seconds until the first dirty key is due for claim_due with the same arguments (0 or less when one is
    due but locked); None when none is dirty."""
    return (await session.execute(text(
        # EXTRACT gives numeric (a Decimal): the decider adds it to the loop clock, a float
        "SELECT CAST(EXTRACT(EPOCH FROM min(LEAST(dirty_at + make_interval(secs => :quiet),"
        " COALESCE(dirty_since, dirty_at) + make_interval(secs => :wait))) - now()) AS float8) AS due_in"
        f" FROM policy.stock WHERE dirty_at IS NOT NULL AND NOT {COMPLETE}"),
        {"quiet": quiet_s, "wait": max_wait_s, "settled": settled})).scalar_one()


async def dirty_count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(stock)
                                  .where(stock.c.dirty_at.is_not(None)))).scalar_one()


async def update_stock(session: AsyncSession, location: str, sku: str, **values: Any) -> None:
    await session.execute(update(stock).where(stock.c.location == location, stock.c.sku == sku).values(**values))


async def add_daily_sales(session: AsyncSession, location: str, sku: str, day: date, qty: float) -> None:
    stmt = insert(daily_sales).values(location=location, sku=sku, day=day, quantity=qty)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[daily_sales.c.location, daily_sales.c.sku, daily_sales.c.day],
        set_={"quantity": func.greatest(daily_sales.c.quantity + stmt.excluded.quantity, 0)}))










async def close_transfers(session: AsyncSession, location: str, sku: str, upto: datetime) -> None:
    """A transfer_in at the receiving location ends the open transfers decided before it."""
    await session.execute(update(reorders).where(
        reorders.c.location == location, reorders.c.sku == sku, reorders.c.kind == "transfer",
        reorders.c.status == "open", reorders.c.decided_at <= upto).values(status="closed"))


async def list_reorders(session: AsyncSession, *, location: str | None, sku: str | None, status: str | None,
                        after: str | None, limit: int) -> list[dict[str, Any]]:
    stmt = select(reorders)
    for column, value in ((reorders.c.location, location), (reorders.c.sku, sku), (reorders.c.status, status)):
        if value:
            stmt = stmt.where(column == value)
    if after:
        stmt = stmt.where(reorders.c.reorder_id > after)
    rows = await session.execute(stmt.order_by(reorders.c.reorder_id).limit(limit))
    return [r.payload | {"status": r.status, "po_id": r.po_id} for r in rows]


async def last_reorder(session: AsyncSession, location: str, sku: str) -> dict[str, Any] | None:
    row = (await session.execute(select(reorders).where(reorders.c.location == location, reorders.c.sku == sku)
                                 .order_by(reorders.c.decided_at.desc()).limit(1))).first()
    return row.payload | {"status": row.status, "po_id": row.po_id} if row else None




async def set_reorders_status(session: AsyncSession, reorder_ids: list[str], status: str, po_id: str) -> None:
    if reorder_ids:
        await session.execute(update(reorders).where(reorders.c.reorder_id.in_(reorder_ids))
                              .values(status=status, po_id=po_id))


async def replace_po_lines(session: AsyncSession, po_id: str, rows: list[dict[str, Any]]) -> None:
    await session.execute(delete(po_lines).where(po_lines.c.po_id == po_id))
    if rows:
        await session.execute(insert(po_lines), rows)






async def current_rules(session: AsyncSession) -> Any:
    return (await session.execute(select(rules).order_by(rules.c.version.desc()).limit(1))).first()




async def keys_for_sku(session: AsyncSession, sku: str) -> list[tuple[str, str]]:
    return [(r.location, r.sku) for r in await session.execute(
        select(stock.c.location, stock.c.sku).where(stock.c.sku == sku))]




async def get_position(session: AsyncSession, location: str, sku: str) -> dict[str, Any] | None:
    return await get_data(session, positions, location=location, sku=sku)


async def list_positions(session: AsyncSession, *, status: str | None, location: str | None, sku: str | None,
                         after: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
    stmt = select(positions.c.data)
    if status:
        stmt = stmt.where(positions.c.status == status)
    if location:
        stmt = stmt.where(positions.c.location == location)
    if sku:
        stmt = stmt.where(positions.c.sku == sku)
    if after:
        stmt = stmt.where(func.row(positions.c.location, positions.c.sku) > func.row(*after))
    rows = await session.execute(stmt.order_by(positions.c.location, positions.c.sku).limit(limit))
    return [r.data for r in rows]

