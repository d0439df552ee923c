"""Bulk application of a history consumer batch: runs of sales and stock events in a few statements."""
from __future__ import annotations

from datetime import date, tzinfo

from sqlalchemy import text

from services.forecast import closing, ledger
from services.forecast.handlers import day_mark, dispatch
from services.forecast.history import Fold, Key, Movement, SeriesState, zone_of
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import DAY_CLOSED
from shared.events.topics import SaleRecorded, StockChanged

SALE_TYPES = frozenset({"replenish.ingest.sale", "replenish.ingest.return"})
STOCK_TYPES = frozenset({"replenish.ingest.stock_count", "replenish.ingest.stock_adjustment"})
RUN_TYPES = SALE_TYPES | STOCK_TYPES


async def apply_batch(uow: UnitOfWork, envelopes: list[Envelope], *, event_clock: bool = False) -> None:
    """Consecutive sales and stock events are applied together; master data and promotions one by one,
    all in batch order (a location's time zone read for a run is the one its events saw). Day-closed
    markers are stored together at the end: they change no fold, and commit with the events before them.
    With the event clock, sales and stock are staged (see ledger) instead of folded."""
    run: list[Envelope] = []
    marks = []
    for env in envelopes:
        if env.type in RUN_TYPES:
            run.append(env)
            continue
        if env.type == DAY_CLOSED:
            marks.append(day_mark(env))
            continue
        await apply_run(uow, run, event_clock=event_clock)
        run = []
        await dispatch(uow, env, event_clock=event_clock)
    await apply_run(uow, run, event_clock=event_clock)
    await closing.record_marks(uow.session, marks)


def parse(envelopes: list[Envelope]) -> list[Movement]:
    out = []
    for env in envelopes:
        if env.type in SALE_TYPES:
            sale = SaleRecorded.model_validate(env.data)
            out.append(Movement((sale.location, sale.sku), sale.time, sale.type, sale.quantity))
            continue
        change = StockChanged.model_validate(env.data)
        amount = change.on_hand if change.type == "stock_count" else change.quantity
        out.append(Movement((change.location, change.sku), change.time, change.type, amount))
    return out


async def apply_run(uow: UnitOfWork, envelopes: list[Envelope], *, event_clock: bool = False) -> None:
    """Read the series rows (locked, sorted) and the zones once, fold in memory, write twice."""
    if not envelopes:
        return
    moves = parse(envelopes)
    zones = await _zones(uow, {m.key[0] for m in moves})
    days = [m.at.astimezone(zones[m.key[0]]).date() for m in moves]
    if event_clock:
        await closing.note_days(uow.session, _spans(moves, days))
        await ledger.stage(uow.session, moves, days, [_ref(env) for env in envelopes])
        return
    created = await _create_series(uow, moves, days)
    fold = Fold(await _lock_series(uow, sorted({m.key for m in moves}), created))
    for m, day in zip(moves, days, strict=True):
        fold.apply(m, day)
    fold.finish()
    await _add_demand(uow, fold)
    await _write_series(uow, {k: s for k, s in fold.series.items() if s.exists and (s.touched or s.moved)})


def _spans(moves: list[Movement], days: list[date]) -> dict[str, tuple[date, date]]:
    out: dict[str, tuple[date, date]] = {}
    for m, day in zip(moves, days, strict=True):
        first, last = out.get(m.key[0], (day, day))
        out[m.key[0]] = (min(first, day), max(last, day))
    return out


def _ref(env: Envelope) -> str:
    """The canonical event's identity ((source, id) is unique, docs/contract.md §3), else the envelope's."""
    data = env.data
    return f"{data['source']}/{data['event_id']}" if data.get("source") and data.get("event_id") else env.id


async def _zones(uow: UnitOfWork, locs: set[str]) -> dict[str, tzinfo]:
    rows = await uow.session.execute(text(
        "SELECT key, data FROM forecast.master WHERE type = 'location' AND key = ANY(CAST(:locs AS text[]))"),
        {"locs": sorted(locs)})
    found = {r.key: r.data for r in rows}
    return {loc: zone_of(found.get(loc)) for loc in locs}


async def _create_series(uow: UnitOfWork, moves: list[Movement], days: list[date]) -> set[Key]:
    """Rows for the series a sale or stock event will touch, so every row of the run can be locked; returns
    the keys that are new (the fold treats them as absent until their first touching event)."""
    first: dict[Key, date] = {}
    for m, day in zip(moves, days, strict=True):
        if m.kind != "return":
            first.setdefault(m.key, day)
    if not first:
        return set()
    keys = sorted(first)
    rows = await uow.session.execute(text(
        "INSERT INTO forecast.series (location, sku, first_day, last_day, last_arrival_at, dirty) "
        "SELECT v.location, v.sku, v.day, v.day, now(), true FROM unnest(CAST(:locs AS text[]), "
        "CAST(:skus AS text[]), CAST(:days AS date[])) AS v(location, sku, day) "
        "ON CONFLICT DO NOTHING RETURNING location, sku"),
        {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys], "days": [first[k] for k in keys]})
    return {(r.location, r.sku) for r in rows}


async def _lock_series(uow: UnitOfWork, keys: list[Key], created: set[Key]) -> dict[Key, SeriesState]:
    rows = await uow.session.execute(text(
        "SELECT s.location, s.sku, s.first_day, s.last_day, s.changed_quantity, s.on_hand, s.on_hand_at, "
        "s.out_since FROM forecast.series s JOIN unnest(CAST(:locs AS text[]), CAST(:skus AS text[])) "
        "AS v(location, sku) ON s.location = v.location AND s.sku = v.sku "
        "ORDER BY s.location, s.sku FOR UPDATE OF s"),
        {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys]})
    out = {}
    for r in rows:
        key = (r.location, r.sku)
        if key not in created:
            out[key] = SeriesState(True, r.first_day, r.last_day, r.changed_quantity, r.on_hand, r.on_hand_at,
                                   r.out_since)
    return out


async def _add_demand(uow: UnitOfWork, fold: Fold) -> None:
    """One upsert: quantities add up (never below zero), a stockout flag once set stays."""
    if not fold.demand:
        return
    rows = sorted(fold.demand.items())
    await uow.session.execute(text(
        "INSERT INTO forecast.daily_demand AS d (location, sku, day, quantity, stockout) "
        "SELECT v.location, v.sku, v.day, greatest(v.quantity, 0), v.stockout FROM unnest(CAST(:locs AS text[]), "
        "CAST(:skus AS text[]), CAST(:days AS date[]), CAST(:qty AS float8[]), CAST(:out AS boolean[])) "
        "AS v(location, sku, day, quantity, stockout) ON CONFLICT (location, sku, day) DO UPDATE SET "
        "quantity = greatest(d.quantity + excluded.quantity, 0), stockout = d.stockout OR excluded.stockout"),
        {"locs": [k[0] for k, _ in rows], "skus": [k[1] for k, _ in rows], "days": [k[2] for k, _ in rows],
         "qty": [q for _, q in rows], "out": [k in fold.stockout for k, _ in rows]})


async def _write_series(uow: UnitOfWork, rows: dict[Key, SeriesState]) -> None:
    """One update of every row the run changed; only a touched row becomes dirty with a new arrival time."""
    if not rows:
        return
    keys = sorted(rows)
    s = [rows[k] for k in keys]
    await uow.session.execute(text(
        "UPDATE forecast.series s SET first_day = v.first_day, last_day = v.last_day, "
        "changed_quantity = v.changed, on_hand = v.on_hand, on_hand_at = v.on_hand_at, out_since = v.out_since, "
        "dirty = s.dirty OR v.touched, "
        "last_arrival_at = CASE WHEN v.touched THEN now() ELSE s.last_arrival_at END "
        "FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:first AS date[]), CAST(:last AS date[]), "
        "CAST(:changed AS float8[]), CAST(:on_hand AS float8[]), CAST(:on_hand_at AS timestamptz[]), "
        "CAST(:out_since AS date[]), CAST(:touched AS boolean[])) "
        "AS v(location, sku, first_day, last_day, changed, on_hand, on_hand_at, out_since, touched) "
        "WHERE s.location = v.location AND s.sku = v.sku"),
        {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys], "first": [r.first_day for r in s],
         "last": [r.last_day for r in s], "changed": [r.changed_quantity for r in s],
         "on_hand": [r.on_hand for r in s], "on_hand_at": [r.on_hand_at for r in s],
         "out_since": [r.out_since for r in s], "touched": [r.touched for r in s]})
