"""Ingest's reads and writes: dedupe ledger, master data, quarantine, mappings and sources."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.models import mappings, master, quarantine, received, sources


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction, for statements written by hand.

    SQLAlchemy's asyncpg adapter sends BEGIN only with its own first statement: until then a statement on
    the bare connection would commit on its own, outside the batch's transaction. So one goes first.
    """
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        await session.execute(_BEGIN)
    return raw


_BEGIN = text("SELECT 1")


_EXISTING_SQL = ("SELECT r.source, r.event_id FROM ingest.received r "
                 "JOIN unnest($1::varchar[], $2::varchar[]) AS k(source, event_id) "
                 "ON r.source = k.source AND r.event_id = k.event_id")


async def existing_keys(session: AsyncSession, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (source, id) were claimed by earlier batches: one round trip for the whole batch."""
    if not keys:
        return set()
    found = await (await driver(session)).fetch(_EXISTING_SQL, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["source"], r["event_id"]) for r in found}


_RECEIVED_COLUMNS = ("source", "event_id", "type", "event_time", "location", "sku", "quantity")
_RECEIVED_SQL = (
    "INSERT INTO ingest.received (source, event_id, type, event_time, location, sku, quantity) "
    "SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::timestamptz[], $5::varchar[], "
    "$6::varchar[], $7::float8[]) ON CONFLICT DO NOTHING RETURNING source, event_id")


async def record_received(session: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Claim dedupe keys in one statement; returns the keys that were new (a concurrent twin loses here)."""
    if not rows:
        return set()
    # Sorted so two overlapping batches lock keys in the same order and cannot deadlock.
    rows = sorted(rows, key=lambda r: (r["source"], r["event_id"]))
    columns = [[r[name] for r in rows] for name in _RECEIVED_COLUMNS]
    found = await (await driver(session)).fetch(_RECEIVED_SQL, *columns)
    return {(r["source"], r["event_id"]) for r in found}


# The fast lane's claim: one source per batch is the rule for a feed, so it travels once, and event times
# travel as the ISO text the payload already holds. Each column travels as one array literal: asyncpg's
# array encoder spends ~1 µs per element (abc isinstance checks) where str.join spends a few ns, and
# PostgreSQL parses the literal at the cost of the binary form (measured: 5-7 -> 2.6 µs per event here).
_CLAIM_SQL = (
    "INSERT INTO ingest.received (source, event_id, type, event_time, location, sku, quantity) "
    "SELECT $1::varchar, i, t, e::timestamptz, l, k, q FROM unnest($2::text::varchar[], $3::text::varchar[], "
    "$4::text::text[], $5::text::varchar[], $6::text::varchar[], $7::text::float8[]) AS u(i, t, e, l, k, q) "
    "ON CONFLICT DO NOTHING RETURNING event_id")


def text_array(values: list[str]) -> str | None:
    """PostgreSQL's text form of a one-dimensional array of these strings, every element quoted (so NULL,
    braces, commas and spaces stay plain text); None when one holds a quote or a backslash (needs escapes)."""
    joined = "".join(values)
    if '"' in joined or "\\" in joined:
        return None
    return '{"' + '","'.join(values) + '"}'


def float_array(values: list[float]) -> str:
    """repr is the shortest text that reads back as the same float (float8in reads it exactly)."""
    return "{" + ",".join(map(repr, values)) + "}"


async def claim_movements(session: AsyncSession, movements: list[Any]) -> set[tuple[str, str]] | None:
    """record_received for the fast lane's Movement records (no dict per event): the keys that were new, or
    None when every one was (the common case; no set of a thousand keys built for nothing)."""
    if not movements:
        return None
    source = movements[0].source
    ordered = sorted(movements, key=attrgetter("id"))  # the lock order record_received uses
    columns = [text_array(c) for c in ([m.id for m in ordered], [m.type for m in ordered],
                                       [m.payload["time"] for m in ordered],
                                       [m.payload["location"] for m in ordered], [m.payload["sku"] for m in ordered])]
    if any(m.source != source for m in movements) or None in columns:
        new = await record_received(session, [
            {"source": m.source, "event_id": m.id, "type": m.type, "event_time": m.time,
             "location": m.payload["location"], "sku": m.payload["sku"], "quantity": m.effect} for m in movements])
        return None if len(new) == len(movements) else new
    found = await (await driver(session)).fetch(_CLAIM_SQL, source, *columns,
                                                float_array([m.effect for m in ordered]))
    return None if len(found) == len(movements) else {(source, r[0]) for r in found}


async def record_movement(session: AsyncSession, row: dict[str, Any]) -> None:
    """A released pending movement: fill in its resolved location, SKU and effect for the quality report."""
    await session.execute(update(received).where(received.c.source == row["source"],
                                                 received.c.event_id == row["event_id"])
                          .values(location=row["location"], sku=row["sku"], quantity=row["quantity"]))


async def master_since(session: AsyncSession, seq: int) -> list[tuple[int, dict[str, Any]]]:
    """(seq, event) of master records changed after `seq`. Asked first in every batch: through the session,
    so its BEGIN rides on this statement rather than on a round trip of its own (see driver)."""
    rows = await session.execute(_MASTER_SINCE, {"seq": seq})
    return [(row_seq, orjson.loads(event)) for row_seq, event in rows]


_MASTER_SINCE = text("SELECT seq, event::text FROM ingest.master WHERE seq > :seq ORDER BY seq")


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


@dataclass(frozen=True)
class QuarantineFilter:
    status: str | None = None
    reason: str | None = None
    source: str | None = None
    type: str | None = None
    since: datetime | None = None  # arrival (created_at) window
    until: datetime | None = None


async def list_quarantine(session: AsyncSession, where: QuarantineFilter, *, after_id: int,
                          limit: int) -> list[Any]:
    q = quarantine.c
    stmt = select(quarantine).where(q.id > after_id)
    for column, value in ((q.status, where.status), (q.reason, where.reason), (q.source, where.source),
                          (q.type, where.type)):
        if value:
            stmt = stmt.where(column == value)
    if where.since:
        stmt = stmt.where(q.created_at >= where.since)
    if where.until:
        stmt = stmt.where(q.created_at < where.until)
    return list(await session.execute(stmt.order_by(q.id).limit(limit)))


async def get_quarantined(session: AsyncSession, qid: int) -> Any:
    return (await session.execute(select(quarantine).where(quarantine.c.id == qid).with_for_update())).first()


async def forget_received(session: AsyncSession, source: str | None, event_id: str | None) -> None:
    if source and event_id:
        await session.execute(received.delete().where(received.c.source == source,
                                                      received.c.event_id == event_id))


async def latest_mapping(session: AsyncSession, source: str) -> Any:
    return (await session.execute(select(mappings).where(mappings.c.source == source)
                                  .order_by(mappings.c.version.desc()).limit(1))).first()


async def save_mapping(session: AsyncSession, source: str, mapping: dict[str, Any], by: str) -> int:
    """A new version (the previous ones stay, for audit and to explain old quarantine entries)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("mapping:" + source))))
    current = (await session.execute(select(func.max(mappings.c.version))
                                     .where(mappings.c.source == source))).scalar()
    version = (current or 0) + 1
    await session.execute(insert(mappings).values(source=source, version=version, mapping=mapping,
                                                  updated_by=by))
    return version


@dataclass(frozen=True)
class SourceRow:
    """A row of ingest.sources, read by hand (the batch path's statements skip the ORM: py-spy)."""

    source: str
    accepted: int
    duplicates: int
    rejected: int
    last_event_at: datetime | None
    last_arrival_at: datetime | None
    configured_cadence_s: float | None
    arrival_gaps: list[float]
    event_gaps: list[float]
    stale: int


_CREATE_SOURCES_SQL = ("WITH created AS (INSERT INTO ingest.sources (source) SELECT unnest($1::varchar[]) "
                       "ON CONFLICT DO NOTHING RETURNING source) ")
_LOCK_SOURCES_SQL = (
    "SELECT source, accepted, duplicates, rejected, last_event_at, last_arrival_at, configured_cadence_s, "
    "arrival_gaps::text, event_gaps::text, stale FROM ingest.sources WHERE source = ANY($1::varchar[]) "
    "ORDER BY source FOR UPDATE")


async def sources_for_update(session: AsyncSession, names: list[str]) -> dict[str, SourceRow]:
    """Source rows (created when new), locked for this transaction."""
    conn = await driver(session)
    names = sorted(set(names))
    rows = await conn.fetch(_CREATE_SOURCES_SQL + _LOCK_SOURCES_SQL, names)
    if len(rows) < len(names):  # rows the statement created are not in its own snapshot: read them now
        rows = await conn.fetch(_LOCK_SOURCES_SQL, names)
    return {r[0]: SourceRow(*r[:7], orjson.loads(r[7]), orjson.loads(r[8]), r[9]) for r in rows}


_NOTE_SOURCE_SQL = (
    "UPDATE ingest.sources SET accepted = $2, duplicates = $3, rejected = $4, last_event_at = $5, "
    "last_arrival_at = $6, arrival_gaps = $7::text::jsonb, event_gaps = $8::text::jsonb, stale = $9 "
    "WHERE source = $1")


async def note_source(session: AsyncSession, row: SourceRow) -> None:
    """Write a locked source row back whole (counters, freshness, stale flag)."""
    await (await driver(session)).execute(
        _NOTE_SOURCE_SQL, row.source, row.accepted, row.duplicates, row.rejected, row.last_event_at,
        row.last_arrival_at, orjson.dumps(row.arrival_gaps).decode(), orjson.dumps(row.event_gaps).decode(), row.stale)


async def update_source(session: AsyncSession, source: str, **values: Any) -> None:
    await session.execute(update(sources).where(sources.c.source == source).values(**values))


async def all_sources(session: AsyncSession) -> list[Any]:
    return list(await session.execute(select(sources).order_by(sources.c.source)))
