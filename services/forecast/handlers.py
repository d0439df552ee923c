"""Forecast's per-event handlers (the reference of the bulk history path): demand per local day, censoring, master."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from services.forecast import closing
from services.forecast.history import censored_days, zone_of
from services.forecast.models import daily_demand, master, promotions, series
from shared.bus.consumer import PoisonMessage
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import DAY_CLOSED, DayMark
from shared.events.topics import (
    MASTER,
    PROMOTIONS,
    SALES,
    STOCK,
    MasterDataChanged,
    PromotionPlanned,
    SaleRecorded,
    StockChanged,
)


async def _local_day(uow: UnitOfWork, location: str, at: datetime) -> date:
    row = (await uow.session.execute(select(master.c.data).where(
        master.c.type == "location", master.c.key == location))).first()
    return at.astimezone(zone_of(row.data if row else None)).date()


async def _touch_series(uow: UnitOfWork, location: str, sku: str, day: date, changed: float) -> None:
    stmt = insert(series).values(location=location, sku=sku, first_day=day, last_day=day,
                                 last_arrival_at=func.now(), dirty=True, changed_quantity=abs(changed))
    await uow.session.execute(stmt.on_conflict_do_update(
        index_elements=[series.c.location, series.c.sku],
        set_={"first_day": func.least(series.c.first_day, day), "last_day": func.greatest(series.c.last_day, day),
              "last_arrival_at": func.now(), "dirty": True,
              "changed_quantity": series.c.changed_quantity + abs(changed)}))


async def _add_demand(uow: UnitOfWork, location: str, sku: str, day: date, qty: float,
                      stockout: bool | None = None) -> None:
    values = {"location": location, "sku": sku, "day": day, "quantity": max(qty, 0)}
    set_ = {"quantity": func.greatest(daily_demand.c.quantity + qty, 0)}
    if stockout is not None:
        values["stockout"] = stockout
        set_["stockout"] = daily_demand.c.stockout | stockout
    stmt = insert(daily_demand).values(**values)
    await uow.session.execute(stmt.on_conflict_do_update(
        index_elements=[daily_demand.c.location, daily_demand.c.sku, daily_demand.c.day], set_=set_))


async def on_sale(uow: UnitOfWork, env: Envelope) -> None:
    """Returns are not negative demand; they only move stock."""
    sale = SaleRecorded.model_validate(env.data)
    day = await _local_day(uow, sale.location, sale.time)
    if sale.type == "sale":
        await _add_demand(uow, sale.location, sale.sku, day, sale.quantity)
        await _touch_series(uow, sale.location, sale.sku, day, sale.quantity)
        await _move_stock(uow, sale.location, sale.sku, day, sale.time, -sale.quantity)
    else:
        await _move_stock(uow, sale.location, sale.sku, day, sale.time, sale.quantity)


async def _move_stock(uow: UnitOfWork, location: str, sku: str, day: date, at: datetime, delta: float,
                      absolute: float | None = None) -> None:
    """Track on-hand from the last count (event time) to find the days that were out of stock.

    A movement older than the last count is already in it; a count older than the last one is stale.
    When stock comes back, every day from the first out-of-stock day to this one is censored.
    """
    row = (await uow.session.execute(select(series.c.on_hand, series.c.on_hand_at, series.c.out_since).where(
        series.c.location == location, series.c.sku == sku))).first()
    if row is None or (row.on_hand_at is not None and at < row.on_hand_at):
        return
    on_hand = absolute if absolute is not None else (row.on_hand + delta if row.on_hand is not None else None)
    out_since = row.out_since
    if on_hand is not None and on_hand <= 0:
        out_since = min(out_since or day, day)
        await _censor(uow, location, sku, out_since, day)
    elif out_since is not None:
        await _censor(uow, location, sku, out_since, max(day, out_since))
        out_since = None
    values = {"on_hand": on_hand, "out_since": out_since}
    if absolute is not None:
        values["on_hand_at"] = at
    await uow.session.execute(update(series).where(series.c.location == location, series.c.sku == sku)
                              .values(**values))


async def _censor(uow: UnitOfWork, location: str, sku: str, first: date, last: date) -> None:
    for day in censored_days(first, last):
        await _add_demand(uow, location, sku, day, 0.0, stockout=True)


async def on_stock(uow: UnitOfWork, env: Envelope) -> None:
    change = StockChanged.model_validate(env.data)
    day = await _local_day(uow, change.location, change.time)
    await _touch_series(uow, change.location, change.sku, day, 0.0)
    if change.type == "stock_count":
        await _move_stock(uow, change.location, change.sku, day, change.time, 0.0, absolute=change.on_hand)
    else:
        await _move_stock(uow, change.location, change.sku, day, change.time, change.quantity or 0.0)


def master_key(kind: str, data: dict) -> str | None:
    """Identity of a master record in forecast's copy; None for kinds forecast does not use."""
    if kind == "item":
        return data["sku"]
    if kind == "location":
        return data["location"]
    if kind == "supplier_item":
        return f"{data['supplier_id']}:{data['sku']}"
    if kind == "policy":
        return "|".join(str(data.get(k) or "") for k in ("sku", "category", "location"))
    return None


async def on_master(uow: UnitOfWork, env: Envelope) -> None:
    """Items (like_sku, category, price), locations (timezone, holidays), and the lead times and review
    periods that set each series' minimum horizon."""
    change = MasterDataChanged.model_validate(env.data)
    key = master_key(change.type, change.data)
    if key is None:
        return
    stmt = insert(master).values(type=change.type, key=key, data=change.data)
    await uow.session.execute(stmt.on_conflict_do_update(index_elements=[master.c.type, master.c.key],
                                                         set_={"data": stmt.excluded.data}))


async def on_promotion(uow: UnitOfWork, env: Envelope, *, event_clock: bool = False) -> None:
    """Stored with its announcement's event time; a later announcement of the same promotion wins, whatever
    the arrival order. With the event clock the series becomes due on the day it was announced (cadence)."""
    promo = PromotionPlanned.model_validate(env.data)
    stmt = insert(promotions).values(sku=promo.sku, location=promo.location or "*", start=promo.start,
                                     end=promo.end, announced_at=env.time)
    newer = func.coalesce(promotions.c.announced_at, env.time) <= stmt.excluded.announced_at
    await uow.session.execute(stmt.on_conflict_do_update(
        index_elements=[promotions.c.sku, promotions.c.location, promotions.c.start],
        set_={"end": stmt.excluded.end, "announced_at": stmt.excluded.announced_at}, where=newer))
    if event_clock:
        return
    # a planned promotion makes its series due at once (even one being fitted right now)
    at = series.c.location if promo.location is None else promo.location
    await uow.session.execute(update(series).where(series.c.sku == promo.sku, series.c.location == at)
                              .values(dirty=True, forecast_as_of=None, last_arrival_at=func.now()))


def day_mark(env: Envelope) -> tuple[DayMark, str]:
    """A day_closed marker and the topic it came on (the consumer's decoder puts it in `data.topic`)."""
    topic = env.data.get("topic")
    if not topic:
        raise PoisonMessage("day_closed marker without the topic it was consumed from")
    try:
        return DayMark.from_data(env.data), str(topic)
    except (KeyError, TypeError, ValueError) as exc:
        raise PoisonMessage(f"invalid day_closed marker: {exc}") from exc


async def on_day_closed(uow: UnitOfWork, env: Envelope) -> None:
    """One partition's marker: stored, and its location is punctuated (its markers close its days)."""
    await closing.record_marks(uow.session, [day_mark(env)])


HANDLERS = {"replenish.ingest.sale": on_sale, "replenish.ingest.return": on_sale,
            "replenish.ingest.stock_count": on_stock, "replenish.ingest.stock_adjustment": on_stock,
            "replenish.ingest.item": on_master, "replenish.ingest.location": on_master,
            "replenish.ingest.supplier_item": on_master, "replenish.ingest.policy": on_master,
            "replenish.ingest.promotion": on_promotion}
TOPICS = [SALES, STOCK, MASTER, PROMOTIONS]


async def dispatch(uow: UnitOfWork, env: Envelope, *, event_clock: bool = False) -> None:
    """Unknown types are ignored. With the event clock, sales and stock go through history_batch (staged)."""
    if env.type == DAY_CLOSED:
        await on_day_closed(uow, env)
    elif env.type == "replenish.ingest.promotion":
        await on_promotion(uow, env, event_clock=event_clock)
    elif (handler := HANDLERS.get(env.type)) is not None:
        await handler(uow, env)
