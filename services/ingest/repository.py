"""Ingest's reads and writes: dedupe ledger, master data, quarantine and source counters."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import master, quarantine, received, sources


async def existing_keys(session: AsyncSession, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 2000):
        chunk = keys[start:start + 2000]
        rows = await session.execute(select(received.c.source, received.c.event_id)
                                     .where(tuple_(received.c.source, received.c.event_id).in_(chunk)))
        found.update((r.source, r.event_id) for r in rows)
    return found


async def record_received(session: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert dedupe rows; returns the keys that were new (a concurrent twin loses the race here)."""
    if not rows:
        return set()
    stmt = insert(received).values(rows).on_conflict_do_nothing().returning(received.c.source,
                                                                            received.c.event_id)
    return {(r.source, r.event_id) for r in await session.execute(stmt)}


async def master_since(session: AsyncSession, seq: int) -> list[Any]:
    return list(await session.execute(select(master.c.seq, master.c.event).where(master.c.seq > seq)
                                      .order_by(master.c.seq)))


async def save_master(session: AsyncSession, type_: str, key: str, event: dict, event_time: datetime) -> None:
    """Keep the latest master record per key by event time (an older correction does not win)."""
    stmt = insert(master).values(type=type_, key=key, event=event, event_time=event_time)
    stmt = stmt.on_conflict_do_update(
        index_elements=[master.c.type, master.c.key],
        set_={"event": stmt.excluded.event, "event_time": stmt.excluded.event_time,
              "seq": func.nextval(func.pg_get_serial_sequence("ingest.master", "seq"))},
        where=master.c.event_time <= stmt.excluded.event_time)
    await session.execute(stmt)


async def quarantine_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(quarantine), rows)


async def pending_for_release(session: AsyncSession, reasons: Iterable[str]) -> list[Any]:
    return list(await session.execute(
        select(quarantine).where(quarantine.c.status == "pending", quarantine.c.reason.in_(list(reasons)))
        .order_by(quarantine.c.event_time, quarantine.c.id).with_for_update(skip_locked=True)))


async def resolve_quarantined(session: AsyncSession, ids: list[int], *, status: str, by: str | None = None,
                              note: str | None = None) -> None:
    if ids:
        await session.execute(update(quarantine).where(quarantine.c.id.in_(ids)).values(
            status=status, resolved_at=func.now(), resolved_by=by, note=note))


async def list_quarantine(session: AsyncSession, *, status: str | None, reason: str | None, source: str | None,
                          after_id: int, limit: int) -> list[Any]:
    stmt = select(quarantine).where(quarantine.c.id > after_id)
    if status:
        stmt = stmt.where(quarantine.c.status == status)
    if reason:
        stmt = stmt.where(quarantine.c.reason == reason)
    if source:
        stmt = stmt.where(quarantine.c.source == source)
    return list(await session.execute(stmt.order_by(quarantine.c.id).limit(limit)))


async def get_quarantined(session: AsyncSession, qid: int) -> Any:
    return (await session.execute(select(quarantine).where(quarantine.c.id == qid).with_for_update())).first()


async def bump_sources(session: AsyncSession, stats: dict[str, dict[str, Any]], now: datetime) -> None:
    for source, s in stats.items():
        stmt = insert(sources).values(source=source, accepted=s["accepted"], duplicates=s["duplicates"],
                                      rejected=s["rejected"], last_event_at=s.get("last_event_at"),
                                      last_arrival_at=now)
        ex = stmt.excluded
        gap = func.extract("epoch", now - sources.c.last_arrival_at)
        stmt = stmt.on_conflict_do_update(index_elements=[sources.c.source], set_={
            "accepted": sources.c.accepted + ex.accepted, "duplicates": sources.c.duplicates + ex.duplicates,
            "rejected": sources.c.rejected + ex.rejected,
            "last_event_at": func.greatest(sources.c.last_event_at, ex.last_event_at),
            "last_arrival_at": ex.last_arrival_at,
            # Learned cadence: an exponentially weighted mean of the gaps between arrivals.
            "cadence_s": func.coalesce(0.8 * sources.c.cadence_s + 0.2 * gap, gap)})
        await session.execute(stmt)


async def all_sources(session: AsyncSession) -> list[Any]:
    return list(await session.execute(select(sources).order_by(sources.c.source)))


async def set_stale(session: AsyncSession, source: str, stale: bool) -> None:
    await session.execute(update(sources).where(sources.c.source == source).values(stale=int(stale)))


async def quarantine_counts(session: AsyncSession) -> list[Any]:
    return list(await session.execute(select(quarantine.c.source, quarantine.c.status, quarantine.c.errors)
                                      .where(or_(quarantine.c.status == "rejected",
                                                 and_(quarantine.c.status == "pending")))
                                      .order_by(quarantine.c.id.desc()).limit(5000)))


async def forget_received(session: AsyncSession, source: str | None, event_id: str | None) -> None:
    if source and event_id:
        await session.execute(received.delete().where(received.c.source == source,
                                                      received.c.event_id == event_id))
