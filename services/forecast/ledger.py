"""Event clock: sales and stock movements are staged as they are consumed and folded into on-hand and stockout
days in event-time order when their day closes, so censoring never depends on the order of consumption."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.forecast.history import Fold, Key, Movement, SeriesState

# Order of movements at the same instant: stock coming in, then going out, then counts (a count is the state
# after everything at its instant). Ins and outs each commute, so the day's flags are order-free.
RANK = {"in": 0, "out": 1, "stock_count": 2}


def rank(kind: str, quantity: float | None) -> int:
    if kind == "stock_count":
        return RANK["stock_count"]
    if kind == "return" or (kind == "stock_adjustment" and (quantity or 0.0) > 0):
        return RANK["in"]
    return RANK["out"]


def ordered(moves: Sequence[tuple[Movement, date, str]]) -> list[tuple[Movement, date, str]]:
    """A series ledger in event time: (key, time, rank, ref) orders every movement, however it arrived."""
    return sorted(moves, key=lambda x: (x[0].key, x[0].at, rank(x[0].kind, x[0].quantity), x[2]))


def fold_moves(states: dict[Key, SeriesState], moves: Sequence[tuple[Movement, date, str]]) -> Fold:
    """The stock side of the history fold over closed days, in event-time order: `fold.stockout` holds the
    censored (location, sku, day)s, `fold.series` the on-hand state at the end. Demand is not read from
    it (sales were added to their days when consumed)."""
    fold = Fold(states)
    for m, day, _ in ordered(moves):
        fold.apply(m, day)
    fold.finish()
    return fold


async def stage(session: AsyncSession, moves: Sequence[Movement], days: Sequence[date], refs: Sequence[str]) -> None:
    """Consume a run: sales add to their day's demand and every touching event widens its series, both
    order-free sums and min/max; the movements wait in stock_moves for their day to close."""
    demand: dict[tuple[str, str, date], float] = {}
    spans: dict[Key, list] = {}
    for m, day in zip(moves, days, strict=True):
        if m.kind == "sale":
            k = (*m.key, day)
            demand[k] = demand.get(k, 0.0) + m.quantity
        if m.kind != "return":
            span = spans.setdefault(m.key, [day, day, 0.0])
            span[0], span[1] = min(span[0], day), max(span[1], day)
            span[2] += abs(m.quantity or 0.0) if m.kind == "sale" else 0.0
    await _widen_series(session, spans)  # series rows before daily_demand rows, as fold_through locks them
    await _add_sales(session, demand)
    rows = sorted({(m.key[0], day, m.key[1], m.at, ref, m.kind, m.quantity)
                   for m, day, ref in zip(moves, days, refs, strict=True)}, key=lambda r: r[:5])
    await session.execute(text(
        "INSERT INTO forecast.stock_moves (location, day, sku, at, ref, kind, quantity) "
        "SELECT * FROM unnest(CAST(:l AS text[]), CAST(:d AS date[]), CAST(:s AS text[]), "
        "CAST(:at AS timestamptz[]), CAST(:ref AS text[]), CAST(:k AS text[]), CAST(:q AS float8[])) "
        "ON CONFLICT DO NOTHING"),
        {k: [r[i] for r in rows] for i, k in enumerate(("l", "d", "s", "at", "ref", "k", "q"))})


async def _add_sales(session: AsyncSession, demand: dict[tuple[str, str, date], float]) -> None:
    if not demand:
        return
    keys = sorted(demand)
    await session.execute(text(
        "INSERT INTO forecast.daily_demand AS d (location, sku, day, quantity) "
        "SELECT * FROM unnest(CAST(:l AS text[]), CAST(:s AS text[]), CAST(:d AS date[]), CAST(:q AS float8[])) "
        "ON CONFLICT (location, sku, day) DO UPDATE SET quantity = greatest(d.quantity + excluded.quantity, 0)"),
        {"l": [k[0] for k in keys], "s": [k[1] for k in keys], "d": [k[2] for k in keys],
         "q": [demand[k] for k in keys]})


async def _widen_series(session: AsyncSession, spans: dict[Key, list]) -> None:
    if not spans:
        return
    keys = sorted(spans)
    await session.execute(text(
        "INSERT INTO forecast.series AS s (location, sku, first_day, last_day, last_arrival_at, dirty, "
        "changed_quantity) SELECT v.l, v.s, v.f, v.t, now(), true, v.c FROM unnest(CAST(:l AS text[]), "
        "CAST(:s AS text[]), CAST(:f AS date[]), CAST(:t AS date[]), CAST(:c AS float8[])) AS v(l, s, f, t, c) "
        "ON CONFLICT (location, sku) DO UPDATE SET first_day = least(s.first_day, excluded.first_day), "
        "last_day = greatest(s.last_day, excluded.last_day), last_arrival_at = now(), dirty = true, "
        "changed_quantity = s.changed_quantity + excluded.changed_quantity"),
        {"l": [k[0] for k in keys], "s": [k[1] for k in keys], "f": [spans[k][0] for k in keys],
         "t": [spans[k][1] for k in keys], "c": [spans[k][2] for k in keys]})


async def fold_through(session: AsyncSession, location: str, through: date) -> int:
    """Fold the location's staged movements of days up to `through` (all consumed: the days are closed) into
    its series' on-hand and stockout days, in event-time order; returns how many were folded."""
    staged = list(await session.execute(text(
        "DELETE FROM forecast.stock_moves WHERE location = :l AND day <= :d "
        "RETURNING sku, day, at, ref, kind, quantity"), {"l": location, "d": through}))
    if not staged:
        return 0
    skus = sorted({r.sku for r in staged})
    rows = await session.execute(text(
        "SELECT sku, first_day, last_day, changed_quantity, on_hand, on_hand_at, out_since FROM forecast.series "
        "WHERE location = :l AND sku = ANY(CAST(:skus AS text[])) ORDER BY sku FOR UPDATE"),
        {"l": location, "skus": skus})
    states = {(location, r.sku): SeriesState(True, r.first_day, r.last_day, r.changed_quantity, r.on_hand,
                                             r.on_hand_at, r.out_since) for r in rows}
    fold = fold_moves(states, [(Movement((location, r.sku), r.at, r.kind, r.quantity), r.day, r.ref)
                               for r in staged])
    await _flag_stockouts(session, sorted(fold.stockout))
    moved = sorted(k for k, s in fold.series.items() if s.exists and s.moved)
    if moved:
        await session.execute(text(
            "UPDATE forecast.series s SET on_hand = v.on_hand, on_hand_at = v.on_hand_at, out_since = v.out_since "
            "FROM unnest(CAST(:l AS text[]), CAST(:s AS text[]), CAST(:oh AS float8[]), "
            "CAST(:at AS timestamptz[]), CAST(:out AS date[])) AS v(location, sku, on_hand, on_hand_at, out_since) "
            "WHERE s.location = v.location AND s.sku = v.sku"),
            {"l": [k[0] for k in moved], "s": [k[1] for k in moved],
             "oh": [fold.series[k].on_hand for k in moved], "at": [fold.series[k].on_hand_at for k in moved],
             "out": [fold.series[k].out_since for k in moved]})
    return len(staged)


async def _flag_stockouts(session: AsyncSession, keys: list[tuple[str, str, date]]) -> None:
    """A censored day keeps its sales; one without any becomes a zero row, flagged."""
    if not keys:
        return
    await session.execute(text(
        "INSERT INTO forecast.daily_demand AS d (location, sku, day, quantity, stockout) "
        "SELECT v.l, v.s, v.d, 0, true FROM unnest(CAST(:l AS text[]), CAST(:s AS text[]), CAST(:d AS date[])) "
        "AS v(l, s, d) ON CONFLICT (location, sku, day) DO UPDATE SET stockout = true WHERE NOT d.stockout"),
        {"l": [k[0] for k in keys], "s": [k[1] for k in keys], "d": [k[2] for k in keys]})
