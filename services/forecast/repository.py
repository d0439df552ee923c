"""Forecast's reads and writes for the scheduler and the read API."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.forecast.models import daily_demand, forecast_log, forecasts, master, overrides, promotions, series


async def claim_due(session: AsyncSession, limit: int, quiet_s: float) -> list[Any]:
    """Series whose history changed enough, and has been quiet for a moment; SKIP LOCKED shares the work
    between replicas."""
    due = or_(series.c.forecast_as_of.is_(None), series.c.last_day > series.c.forecast_as_of,
              series.c.changed_quantity > 0.25 * series.c.baseline + 1)
    stmt = (select(series).where(series.c.dirty, due,
                                 series.c.last_arrival_at < func.now() - text(f"interval '{quiet_s} seconds'"))
            .order_by(series.c.last_arrival_at).limit(limit).with_for_update(skip_locked=True))
    return list(await session.execute(stmt))


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


async def save_forecast(session: AsyncSession, location: str, sku: str, as_of: date, generated_at: datetime,
                        payload: dict, means: list[float], baseline: float) -> None:
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
        dirty=False, forecast_as_of=as_of, changed_quantity=0, baseline=baseline))
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
