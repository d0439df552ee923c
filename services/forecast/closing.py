"""Forecast's reads and writes for the event clock: markers seen, each location's days, leases, decided days."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.forecast.cadence import LocationClock, SeriesClock
from services.forecast.history import zone_of
from services.forecast.models import day_marks, decided_days
from shared.events.markers import DayMark, decided_through, last_decided, record_mark
from shared.service import ServiceRuntime


async def record_marks(session: AsyncSession, marks: Sequence[tuple[DayMark, str]]) -> None:
    """Store (marker, topic) pairs (a redelivery changes nothing); their locations are punctuated from now on."""
    if not marks:
        return
    if len(marks) == 1:
        await record_mark(session, day_marks, *marks[0])
    else:  # record_mark's statement, one row per marker, in one round trip
        rows = sorted({(m.stream, m.location, m.day, t, m.partition, m.partitions) for m, t in marks})
        await session.execute(text(
            "INSERT INTO forecast.day_marks (stream, location, day, topic, partition, partitions) "
            "SELECT * FROM unnest(CAST(:s AS text[]), CAST(:l AS text[]), CAST(:d AS date[]), CAST(:t AS text[]), "
            "CAST(:p AS int[]), CAST(:n AS int[])) ON CONFLICT DO NOTHING"),
            {k: [r[i] for r in rows] for i, k in enumerate(("s", "l", "d", "t", "p", "n"))})
    locations = sorted({m.location for m, _ in marks if m.stream == "ingest"})
    if locations:
        await session.execute(text(
            "INSERT INTO forecast.location_clock AS c (location, punctuated) "
            "SELECT unnest(CAST(:locs AS text[])), true "
            "ON CONFLICT (location) DO UPDATE SET punctuated = true WHERE NOT c.punctuated"), {"locs": locations})


async def note_days(session: AsyncSession, spans: dict[str, tuple[date, date]]) -> None:
    """Widen each location's (first, last) local day of consumed sales and stock events."""
    if not spans:
        return
    locs = sorted(spans)
    await session.execute(text(
        "INSERT INTO forecast.location_clock AS c (location, first_day, last_day) "
        "SELECT * FROM unnest(CAST(:locs AS text[]), CAST(:first AS date[]), CAST(:last AS date[])) "
        "ON CONFLICT (location) DO UPDATE SET first_day = least(c.first_day, excluded.first_day), "
        "last_day = greatest(c.last_day, excluded.last_day) "
        "WHERE c.first_day IS NULL OR c.last_day IS NULL OR excluded.first_day < c.first_day "
        "OR excluded.last_day > c.last_day"),
        {"locs": locs, "first": [spans[k][0] for k in locs], "last": [spans[k][1] for k in locs]})


async def claim_locations(session: AsyncSession, lease_s: float, limit: int = 100) -> list[str]:
    """Lease the locations that may have a day to close (a marker after the decided day, or an unpunctuated
    location whose events passed it: cadence.closed_through); SKIP LOCKED and the lease share them between
    replicas."""
    rows = await session.execute(text(
        "UPDATE forecast.location_clock SET claimed_until = now() + make_interval(secs => :lease) "
        "WHERE location IN (SELECT c.location FROM forecast.location_clock c "
        "LEFT JOIN forecast.decided_days d ON d.location = c.location "
        "WHERE (c.claimed_until IS NULL OR c.claimed_until < now()) AND ("
        " (NOT c.punctuated AND c.last_day - c.first_day >= 2 AND c.last_day - 1 > coalesce(d.day, c.first_day - 1))"
        " OR EXISTS ("
        "  SELECT 1 FROM forecast.day_marks m WHERE m.stream = 'ingest' AND m.location = c.location "
        "  AND (d.day IS NULL OR m.day > d.day))) "
        "ORDER BY c.location LIMIT :limit FOR UPDATE OF c SKIP LOCKED) RETURNING location"),
        {"lease": float(lease_s), "limit": limit})
    return sorted(r.location for r in rows)


async def release_location(session: AsyncSession, location: str) -> None:
    await session.execute(text("UPDATE forecast.location_clock SET claimed_until = NULL WHERE location = :l"),
                          {"l": location})


async def location_clock(session: AsyncSession, location: str) -> tuple[LocationClock, str]:
    """The location's days and its time zone name (UTC when unknown or invalid)."""
    row = (await session.execute(text(
        "SELECT c.first_day, c.last_day, c.punctuated, m.data AS master FROM forecast.location_clock c "
        "LEFT JOIN forecast.master m ON m.type = 'location' AND m.key = c.location WHERE c.location = :l"),
        {"l": location})).first()
    decided = await last_decided(session, decided_days, location)
    zone = getattr(zone_of(row.master if row else None), "key", "UTC")
    if row is None:
        return LocationClock(None, None, False, decided), zone
    return LocationClock(row.first_day, row.last_day, row.punctuated, decided), zone


async def series_clocks(session: AsyncSession, location: str) -> list[Any]:
    """Every series of the location with what the cadence and the history need."""
    return list(await session.execute(text(
        "SELECT location, sku, first_day, last_day, forecast_as_of, out_since, last_arrival_at, changed_quantity "
        "FROM forecast.series WHERE location = :l ORDER BY sku"), {"l": location}))


def as_clocks(rows: Sequence[Any]) -> list[SeriesClock]:
    return [SeriesClock(r.sku, r.first_day, r.forecast_as_of) for r in rows]


async def promotion_touches(session: AsyncSession, location: str, zone: str) -> dict[str, list[date]]:
    """Per SKU, the local days on which a promotion for it at this location (or everywhere) was announced."""
    rows = await session.execute(text(
        "SELECT sku, (announced_at AT TIME ZONE :zone)::date AS day FROM forecast.promotions "
        "WHERE location IN (:l, '*') AND announced_at IS NOT NULL ORDER BY sku, day"), {"l": location, "zone": zone})
    out: dict[str, list[date]] = {}
    for r in rows:
        out.setdefault(r.sku, []).append(r.day)
    return out


async def settle(session: AsyncSession, rows: Sequence[Any]) -> None:
    """Event clock: a forecast as of D makes D the series' as_of. An override that reset it to NULL since
    the day was planned keeps the series due (its next closed day re-forecasts it)."""
    if not rows:
        return
    await session.execute(text(
        "UPDATE forecast.series s SET forecast_as_of = CASE WHEN s.forecast_as_of IS NULL "
        "AND v.planned IS NOT NULL THEN NULL ELSE v.as_of END, dirty = false, claimed_until = NULL "
        "FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:as_of AS date[]), "
        "CAST(:planned AS date[])) AS v(location, sku, as_of, planned) "
        "WHERE s.location = v.location AND s.sku = v.sku"),
        {"locs": [r.location for r in rows], "skus": [r.sku for r in rows], "as_of": [r.last_day for r in rows],
         "planned": [r.forecast_as_of for r in rows]})


def event_instant(day_end: datetime) -> datetime:
    """Forecasts as of a day are stamped one microsecond before its end: the last instant of the day."""
    return day_end - timedelta(microseconds=1)


async def forecast_decided_through(runtime: ServiceRuntime) -> datetime | None:
    """GET /v1/watermark's decided_through: the end of the latest day decided at every location
    (docs/contract.md §10)."""
    async with runtime.sessionmaker() as session:
        return await decided_through(session, decided_days)
