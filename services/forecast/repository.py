"""Forecast's reads and writes for the scheduler and the read API."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.forecast.models import daily_demand, forecast_log, forecasts, master, overrides, promotions, series


async def claim_due(session: AsyncSession, limit: int, quiet_s: float, lease_s: float) -> list[Any]:
    """Lease series whose history changed enough and has been quiet for a moment.

    SKIP LOCKED shares the work between replicas; the lease (``claimed_until``) is committed at once so
    the consumers never wait on a row while it is being fitted, and a crashed instance's claims expire.
    """
    due = or_(series.c.forecast_as_of.is_(None), series.c.last_day > series.c.forecast_as_of,
              series.c.changed_quantity > 0.25 * series.c.baseline + 1)
    free = or_(series.c.claimed_until.is_(None), series.c.claimed_until < func.now())
    stmt = (select(series).where(series.c.dirty, due, free,
                                 series.c.last_arrival_at < func.now() - text(f"interval '{float(quiet_s)} seconds'"))
            .order_by(series.c.last_arrival_at).limit(limit).with_for_update(skip_locked=True))
    rows = list(await session.execute(stmt))
    if rows:
        await session.execute(update(series).where(
            func.row(series.c.location, series.c.sku).in_([func.row(r.location, r.sku) for r in rows]))
            .values(claimed_until=func.now() + text(f"interval '{float(lease_s)} seconds'")))
    return rows


async def demand_rows(session: AsyncSession, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {k: [] for k in keys}
    rows = await session.execute(select(daily_demand).where(
        func.row(daily_demand.c.location, daily_demand.c.sku).in_([func.row(*k) for k in keys])))
    for r in rows:
        out[(r.location, r.sku)].append(r)
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


async def recent_demand(session: AsyncSession, location: str, skus: set[str], since: date) -> list[Any]:
    """Daily demand of some SKUs at one location since a day (the source of a cold-start profile)."""
    return list(await session.execute(select(daily_demand).where(
        daily_demand.c.location == location, daily_demand.c.sku.in_(skus), daily_demand.c.day >= since)))


async def series_spans(session: AsyncSession, location: str, skus: set[str]) -> dict[str, tuple[date, date]]:
    """(first day, last day) of the SKUs' histories at one location."""
    rows = await session.execute(select(series.c.sku, series.c.first_day, series.c.last_day).where(
        series.c.location == location, series.c.sku.in_(skus)))
    return {r.sku: (r.first_day, r.last_day) for r in rows}


async def promotions_for(session: AsyncSession, skus: set[str]) -> list[Any]:
    return list(await session.execute(select(promotions).where(promotions.c.sku.in_(skus))))


async def active_overrides(session: AsyncSession, keys: list[tuple[str, str]], now: datetime) -> list[Any]:
    return list(await session.execute(select(overrides).where(
        func.row(overrides.c.location, overrides.c.sku).in_([func.row(*k) for k in keys]),
        or_(overrides.c.expires_at.is_(None), overrides.c.expires_at > now))))


async def logs_since(session: AsyncSession, keys: list[tuple[str, str]], since: date) -> list[Any]:
    return list(await session.execute(select(forecast_log).where(
        func.row(forecast_log.c.location, forecast_log.c.sku).in_([func.row(*k) for k in keys]),
        forecast_log.c.as_of >= since).order_by(forecast_log.c.as_of)))


async def save_forecast(session: AsyncSession, claimed: Any, generated_at: datetime, payload: dict,
                        means: list[float], baseline: float) -> None:
    """Store the forecast and its log; events that arrived while it was fitted keep the series dirty."""
    location, sku, as_of = claimed.location, claimed.sku, claimed.last_day
    stmt = insert(forecasts).values(location=location, sku=sku, as_of=as_of, generated_at=generated_at,
                                    payload=payload)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[forecasts.c.location, forecasts.c.sku],
        set_={"as_of": stmt.excluded.as_of, "generated_at": stmt.excluded.generated_at,
              "payload": stmt.excluded.payload}))
    log = insert(forecast_log).values(location=location, sku=sku, as_of=as_of, means=means[:28])
    await session.execute(log.on_conflict_do_update(
        index_elements=[forecast_log.c.location, forecast_log.c.sku, forecast_log.c.as_of],
        set_={"means": log.excluded.means}))
    await session.execute(update(series).where(and_(series.c.location == location, series.c.sku == sku)).values(
        dirty=series.c.last_arrival_at > claimed.last_arrival_at, forecast_as_of=as_of, baseline=baseline,
        changed_quantity=func.greatest(series.c.changed_quantity - claimed.changed_quantity, 0),
        claimed_until=None))
    await session.execute(forecast_log.delete().where(
        forecast_log.c.location == location, forecast_log.c.sku == sku,
        forecast_log.c.as_of < as_of - timedelta(days=120)))


async def get_forecast(session: AsyncSession, location: str, sku: str) -> dict | None:
    row = (await session.execute(select(forecasts.c.payload).where(
        forecasts.c.location == location, forecasts.c.sku == sku))).first()
    return row.payload if row else None


async def list_forecasts(session: AsyncSession, *, location: str | None, sku: str | None, limit: int,
                         offset: int) -> list[dict]:
    stmt = select(forecasts.c.payload)
    if location:
        stmt = stmt.where(forecasts.c.location == location)
    if sku:
        stmt = stmt.where(forecasts.c.sku == sku)
    rows = await session.execute(stmt.order_by(forecasts.c.location, forecasts.c.sku).limit(limit).offset(offset))
    return [r.payload for r in rows]


async def add_override(session: AsyncSession, values: dict) -> int:
    row = await session.execute(insert(overrides).values(**values).returning(overrides.c.id))
    await session.execute(update(series).where(series.c.location == values["location"],
                                               series.c.sku == values["sku"]).values(
        dirty=True, forecast_as_of=None, last_arrival_at=func.now() - text("interval '1 hour'")))
    return row.scalar_one()
