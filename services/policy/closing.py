"""Event clock: decide every key of a location once its day is closed, and say so downstream (docs/clock.md).

Under REPLENISH_CLOCK=event policy does not decide on arrival: a decision for the location's day D waits until
ingest has closed D (its markers on every partition of the sales and stock topics, or an event of a later day)
and forecast has closed D - 1, and orders has acknowledged D (its marker on the purchase-orders topic comes after
every PO change made before the world moved on to D: a cancellation or shipment read late would otherwise change
what is on order), then every key of the location is decided as of D's end with the events of D and the forecasts
as of D - 1. The reorders go out followed by a policy marker for (location, D) on every partition
of the reorder topic, so orders knows when the day's reorders are all in.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import text

from services.policy import decide
from services.policy import repository as repo
from services.policy.models import day_marks, decided_days, locations
from services.policy.settings import policy_settings
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import (
    DAY_CLOSED,
    DayMark,
    closed_days,
    day_end,
    last_decided,
    local_day,
    record_decided,
    record_mark,
)
from shared.events.topics import DEMAND, PURCHASE_ORDERS, REORDERS, SALES, STOCK

MOVEMENT_TYPES = ("replenish.ingest.sale", "replenish.ingest.return", "replenish.ingest.stock_count",
                  "replenish.ingest.stock_adjustment")
DECIDE_CHUNK = 200  # keys read and decided per statement round; a location of thousands goes in rounds


async def after_batch(uow: UnitOfWork, envelopes: list[Envelope]) -> None:
    """Record the batch's markers and the local days its movements reached, then decide what is now closed."""
    touched: set[str] = set()
    seen: dict[str, tuple[datetime, datetime]] = {}  # location -> (earliest, latest) movement time
    for env in envelopes:
        if env.type == DAY_CLOSED:
            mark = DayMark.from_data(env.data)
            await record_mark(uow.session, day_marks, mark)
            touched.add(mark.location)
        elif env.type in MOVEMENT_TYPES and env.data.get("location"):
            location = env.data["location"]
            first, last = seen.get(location, (env.time, env.time))
            seen[location] = (min(first, env.time), max(last, env.time))
    for location, (first, last) in seen.items():
        tz = await _timezone(uow, location)
        await _note_days(uow, location, local_day(first, tz), local_day(last, tz))
    await close_days(uow, touched | set(seen))


async def close_days(uow: UnitOfWork, where: Iterable[str]) -> None:
    for location in sorted(where):
        await _advance(uow, location)


async def _advance(uow: UnitOfWork, location: str) -> None:
    """Decide each closed day after the last decided one, in order, while forecast has closed the day before."""
    session, tz = uow.session, await _timezone(uow, location)
    last = await last_decided(session, decided_days, location)
    marked = await closed_days(session, day_marks, "ingest", [SALES, STOCK], location, last)
    first, seen = await _days(uow, location)
    # "Event time passes its end" only for a feed that never closes days: it depends on which partition was read
    # first, so once a location sends day_close its markers alone close its days (and each closes the ones before).
    passed = [seen - timedelta(days=1)] if seen and not await _punctuated(uow, location) else []
    through = max([*marked, *passed], default=None)
    if through is None:
        return
    day = last + timedelta(days=1) if last else min([d for d in (first, *marked) if d is not None])
    forecasts = await closed_days(session, day_marks, "forecast", [DEMAND], location, None)
    forecast_through = max(forecasts, default=None)
    orders_through = max(await closed_days(session, day_marks, "orders", [PURCHASE_ORDERS], location, None),
                         default=None)
    cfg = policy_settings()
    wait = cfg.event_wait_for_forecast
    while day <= through:
        before = day - timedelta(days=1)
        if wait and first is not None and before >= first and (forecast_through is None or forecast_through < before):
            return  # the forecasts as of D - 1 are not all in yet: their marker resumes this
        if cfg.event_wait_for_orders and (orders_through is None or orders_through < day):
            return  # orders has not yet put out every PO change made before D (its marker resumes this)
        await decide_day(uow, location, day, tz)
        day += timedelta(days=1)


async def decide_day(uow: UnitOfWork, location: str, day: date, tz: str | None) -> None:
    """Every key of the location as of the day's last second, then the policy marker and decided_through."""
    as_of = day_end(day, tz) - timedelta(seconds=1)
    skus = [r[0] for r in await uow.session.execute(text(
        "SELECT sku FROM policy.stock WHERE location = :l AND last_event_at IS NOT NULL ORDER BY sku"),
        {"l": location})]
    keys = [(location, sku) for sku in skus]
    factors = await decide.day_factors(uow, keys, as_of, DECIDE_CHUNK)  # every key's targets first, then decide
    for start in range(0, len(keys), DECIDE_CHUNK):
        decided = await decide.decide_keys(uow, keys[start:start + DECIDE_CHUNK], as_of=as_of, factors=factors)
        await _snapshot(uow, location, as_of, [(d.position.sku, d.position.on_hand) for d in decided])
    await uow.publish_marker(REORDERS, stream="policy", location=location, day=day, time=as_of)
    await record_decided(uow.session, decided_days, location, day, tz)


async def _snapshot(uow: UnitOfWork, location: str, as_of: datetime, on_hand: list[tuple[str, float]]) -> None:
    """The on-hand each key had at the day's end: the next day's on-hand starts from it (inputs.ON_HAND_AS_OF)."""
    if on_hand:
        await uow.session.execute(text(
            "UPDATE policy.stock s SET snap_at = :at, snap_on_hand = v.q FROM unnest(CAST(:skus AS text[]), "
            "CAST(:qty AS float8[])) AS v(sku, q) WHERE s.location = :l AND s.sku = v.sku"),
            {"at": as_of, "l": location, "skus": [s for s, _ in on_hand], "qty": [q for _, q in on_hand]})


async def _note_days(uow: UnitOfWork, location: str, first: date, last: date) -> None:
    await uow.session.execute(text(
        "INSERT INTO policy.location_days (location, first_day, seen_day) VALUES (:l, :f, :d) "
        "ON CONFLICT (location) DO UPDATE SET first_day = LEAST(location_days.first_day, EXCLUDED.first_day), "
        "seen_day = GREATEST(location_days.seen_day, EXCLUDED.seen_day)"), {"l": location, "f": first, "d": last})


async def _punctuated(uow: UnitOfWork, location: str) -> bool:
    return (await uow.session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM policy.day_marks WHERE location = :l AND stream = 'ingest')"),
        {"l": location})).scalar()


async def _days(uow: UnitOfWork, location: str) -> tuple[date | None, date | None]:
    row = (await uow.session.execute(text(
        "SELECT first_day, seen_day FROM policy.location_days WHERE location = :l"), {"l": location})).first()
    return (row[0], row[1]) if row else (None, None)


async def _timezone(uow: UnitOfWork, location: str) -> str | None:
    data = await repo.get_data(uow.session, locations, location=location) or {}
    return data.get("timezone")
