"""Forecast's reads and writes for the scheduler and the read API."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import orjson
from sqlalchemy import ARRAY, Text, and_, bindparam, cast, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.forecast.models import daily_demand, forecast_log, forecasts, master, overrides, promotions, series
from services.forecast.planning import EMPTY, EPOCH, DemandArrays


async def claim_due(session: AsyncSession, limit: int, quiet_s: float, lease_s: float) -> list[Any]:
    """Lease series whose history changed enough and has been quiet for a moment.

    SKIP LOCKED shares the work between replicas; the lease (``claimed_until``) is committed at once so
    the consumers never wait on a row while it is being fitted, and a crashed instance's claims expire.
    """
    due = or_(series.c.forecast_as_of.is_(None), series.c.last_day > series.c.forecast_as_of,
              series.c.changed_quantity > 0.25 * series.c.baseline + 1)
    free = or_(series.c.claimed_until.is_(None), series.c.claimed_until < func.now())
    pick = (select(series.c.location, series.c.sku)
            .where(series.c.dirty, due, free,
                   series.c.last_arrival_at < func.now() - text(f"interval '{float(quiet_s)} seconds'"))
            .order_by(series.c.last_arrival_at).limit(limit).with_for_update(skip_locked=True))
    stmt = (update(series).where(tuple_(series.c.location, series.c.sku).in_(pick))
            .values(claimed_until=func.now() + text(f"interval '{float(lease_s)} seconds'"))
            .returning(*series.c))
    return list(await session.execute(stmt))


async def demand_arrays(session: AsyncSession, keys: list[tuple[str, str]]) -> dict[tuple[str, str], DemandArrays]:
    """Daily demand of many series in one query, aggregated per series into arrays."""
    rows = await session.execute(text(  # per series via LATERAL: no sort of every row of the round
        "SELECT k.location, k.sku, a.offsets, a.quantity, a.stockout "
        "FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[])) AS k(location, sku) CROSS JOIN LATERAL ("
        "SELECT array_agg(d.day - CAST(:epoch AS date) ORDER BY d.day) AS offsets, "
        "array_agg(d.quantity ORDER BY d.day) AS quantity, array_agg(d.stockout ORDER BY d.day) AS stockout "
        "FROM forecast.daily_demand d WHERE d.location = k.location AND d.sku = k.sku) AS a "
        "WHERE a.offsets IS NOT NULL"),
        {"epoch": EPOCH, "locs": [k[0] for k in keys], "skus": [k[1] for k in keys]})
    out = dict.fromkeys(keys, EMPTY)
    for r in rows:
        out[(r.location, r.sku)] = DemandArrays(np.asarray(r.offsets, dtype=int), np.asarray(r.quantity, dtype=float),
                                                np.asarray(r.stockout, dtype=bool))
    return out


async def master_data(session: AsyncSession, type_: str, keys: set[str]) -> dict[str, dict]:
    rows = await session.execute(select(master.c.key, master.c.data).where(master.c.type == type_,
                                                                           master.c.key.in_(keys)))
    return {r.key: r.data for r in rows}


async def items_in(session: AsyncSession, skus: set[str], categories: set[str]) -> dict[str, dict]:
    """Item master data of the given SKUs and of every SKU in the given categories."""
    data = master.c.data
    rows = await session.execute(select(master.c.key, data).where(master.c.type == "item", or_(
        master.c.key.in_(skus), data["category"].astext.in_(categories))))
    return {r.key: r.data for r in rows}


async def supply_terms(session: AsyncSession, skus: set[str]) -> tuple[list[dict], list[dict]]:
    """Supplier items of the SKUs and every policy row (few): what sets each series' minimum horizon."""
    items = await session.execute(select(master.c.data).where(
        master.c.type == "supplier_item", master.c.data["sku"].astext.in_(skus)))
    policies = await session.execute(select(master.c.data).where(master.c.type == "policy"))
    return [r.data for r in items], [r.data for r in policies]


async def recent_demand(session: AsyncSession, location: str, skus: set[str], since: date,
                        until: date | None = None) -> list[Any]:
    """Daily demand of some SKUs at one location since a day (and up to one: event clock), the source of a
    cold-start profile."""
    stmt = select(daily_demand).where(daily_demand.c.location == location, daily_demand.c.sku.in_(skus),
                                      daily_demand.c.day >= since)
    if until is not None:
        stmt = stmt.where(daily_demand.c.day <= until)
    return list(await session.execute(stmt))


async def series_spans(session: AsyncSession, location: str, skus: set[str],
                       through: date | None = None) -> dict[str, tuple[date, date]]:
    """(first day, last day) of the SKUs' histories at one location; as they were at `through` if given."""
    rows = await session.execute(select(series.c.sku, series.c.first_day, series.c.last_day).where(
        series.c.location == location, series.c.sku.in_(skus)))
    if through is None:
        return {r.sku: (r.first_day, r.last_day) for r in rows}
    return {r.sku: (r.first_day, min(r.last_day, through)) for r in rows if r.first_day <= through}


async def promotions_for(session: AsyncSession, skus: set[str], known_at: datetime | None = None) -> list[Any]:
    """Promotions of the SKUs; with `known_at` only those announced by then (or of unknown announcement)."""
    stmt = select(promotions).where(promotions.c.sku.in_(skus))
    if known_at is not None:
        stmt = stmt.where(or_(promotions.c.announced_at.is_(None), promotions.c.announced_at <= known_at))
    return list(await session.execute(stmt.order_by(promotions.c.sku, promotions.c.location, promotions.c.start)))


def _keyed(table, keys: list[tuple[str, str]]):
    """A join of `table` with the (location, sku) pairs, as arrays: two parameters whatever the count."""
    k = select(func.unnest(cast(bindparam("locs", [x[0] for x in keys]), ARRAY(Text))).label("location"),
               func.unnest(cast(bindparam("skus", [x[1] for x in keys]), ARRAY(Text))).label("sku")).subquery()
    return select(table).join(k, and_(table.c.location == k.c.location, table.c.sku == k.c.sku))


async def active_overrides(session: AsyncSession, keys: list[tuple[str, str]], now: datetime) -> list[Any]:
    return list(await session.execute(_keyed(overrides, keys).where(
        or_(overrides.c.expires_at.is_(None), overrides.c.expires_at > now)).order_by(overrides.c.id)))


async def logs_since(session: AsyncSession, keys: list[tuple[str, str]], since: date,
                     before: date | None = None) -> list[Any]:
    stmt = _keyed(forecast_log, keys).where(forecast_log.c.as_of >= since)
    if before is not None:
        stmt = stmt.where(forecast_log.c.as_of < before)
    return list(await session.execute(stmt.order_by(forecast_log.c.as_of)))


@dataclass(frozen=True)
class Saved:
    """What one forecast round stores for a series."""

    claimed: Any
    payload: dict
    means: list[float]
    baseline: float


async def save_forecasts(session: AsyncSession, saved: list[Saved], generated_at: datetime, *,
                         release: bool = True) -> None:
    """Store a round's forecasts and logs in bulk and release the leases; events that arrived while the
    round was fitted keep their series dirty, and only the change the round saw is subtracted. The event
    clock settles its series itself (`release=False`, closing.settle)."""
    await session.execute(text(
        "INSERT INTO forecast.forecasts (location, sku, as_of, generated_at, payload) "
        "SELECT v.location, v.sku, v.as_of, :generated_at, CAST(v.payload AS jsonb) FROM unnest("
        "CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:as_of AS date[]), CAST(:payloads AS text[])) "
        "AS v(location, sku, as_of, payload) ON CONFLICT (location, sku) DO UPDATE SET as_of = excluded.as_of, "
        "generated_at = excluded.generated_at, payload = excluded.payload"),
        {"generated_at": generated_at, "locs": [s.claimed.location for s in saved],
         "skus": [s.claimed.sku for s in saved], "as_of": [s.claimed.last_day for s in saved],
         "payloads": [orjson.dumps(s.payload).decode() for s in saved]})
    await session.execute(text(
        "INSERT INTO forecast.forecast_log (location, sku, as_of, means) "
        "SELECT v.location, v.sku, v.as_of, CAST(v.means AS jsonb) FROM unnest("
        "CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:as_of AS date[]), CAST(:means AS text[])) "
        "AS v(location, sku, as_of, means) ON CONFLICT (location, sku, as_of) DO UPDATE SET means = excluded.means"),
        {"locs": [s.claimed.location for s in saved], "skus": [s.claimed.sku for s in saved],
         "as_of": [s.claimed.last_day for s in saved],
         "means": [orjson.dumps(s.means[:28]).decode() for s in saved]})
    if release:
        await _release(session, saved)
    else:
        await _drop_old_logs(session, saved)


async def _release(session: AsyncSession, saved: list[Saved]) -> None:
    columns = {"locs": [s.claimed.location for s in saved], "skus": [s.claimed.sku for s in saved],
               "arrivals": [s.claimed.last_arrival_at for s in saved], "as_of": [s.claimed.last_day for s in saved],
               "baselines": [float(s.baseline) for s in saved],
               "changed": [float(s.claimed.changed_quantity) for s in saved]}
    await session.execute(text(
        "UPDATE forecast.series s SET dirty = s.last_arrival_at > v.arrival, "
        # an override or promotion that arrived during the fit reset forecast_as_of: keep it due
        "forecast_as_of = CASE WHEN s.last_arrival_at > v.arrival AND s.forecast_as_of IS NULL THEN NULL "
        "ELSE v.as_of END, "
        "baseline = v.baseline, changed_quantity = greatest(s.changed_quantity - v.changed, 0), "
        "claimed_until = NULL FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), "
        "CAST(:arrivals AS timestamptz[]), CAST(:as_of AS date[]), CAST(:baselines AS float8[]), "
        "CAST(:changed AS float8[])) AS v(location, sku, arrival, as_of, baseline, changed) "
        "WHERE s.location = v.location AND s.sku = v.sku"), columns)
    await _drop_old_logs(session, saved)


async def _drop_old_logs(session: AsyncSession, saved: list[Saved]) -> None:
    await session.execute(text(
        "DELETE FROM forecast.forecast_log l USING unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), "
        "CAST(:cut AS date[])) AS v(location, sku, cut) "
        "WHERE l.location = v.location AND l.sku = v.sku AND l.as_of < v.cut"),
        {"locs": [s.claimed.location for s in saved], "skus": [s.claimed.sku for s in saved],
         "cut": [s.claimed.last_day - timedelta(days=120) for s in saved]})


async def get_forecast(session: AsyncSession, location: str, sku: str) -> dict | None:
    row = (await session.execute(select(forecasts.c.payload).where(
        forecasts.c.location == location, forecasts.c.sku == sku))).first()
    return row.payload if row else None


async def list_forecasts(session: AsyncSession, *, location: str | None, sku: str | None, limit: int,
                         offset: int, after: tuple[str, str] | None = None) -> list[dict]:
    """In (location, sku) order; `after` is the last key of the previous page (the cursor)."""
    stmt = select(forecasts.c.payload)
    if location:
        stmt = stmt.where(forecasts.c.location == location)
    if sku:
        stmt = stmt.where(forecasts.c.sku == sku)
    if after:
        stmt = stmt.where(tuple_(forecasts.c.location, forecasts.c.sku) > after)
    rows = await session.execute(stmt.order_by(forecasts.c.location, forecasts.c.sku).limit(limit).offset(offset))
    return [r.payload for r in rows]


async def add_override(session: AsyncSession, values: dict) -> int:
    row = await session.execute(insert(overrides).values(**values).returning(overrides.c.id))
    await session.execute(update(series).where(series.c.location == values["location"],
                                               series.c.sku == values["sku"]).values(
        dirty=True, forecast_as_of=None, last_arrival_at=func.now()))
    return row.scalar_one()
