"""Bulk application of a consumer batch: sales and stock events in a few statements, the rest per event."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, tuple_

from services.policy import closing
from services.policy import repository as repo
from services.policy.handlers import dispatch
from services.policy.models import locations, stock
from services.policy.settings import policy_settings
from services.policy.wake import notify_after_commit
from shared.clock import clock_mode
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import SaleRecorded, StockChanged

SALE_TYPES = ("replenish.ingest.sale", "replenish.ingest.return")
STOCK_TYPES = ("replenish.ingest.stock_count", "replenish.ingest.stock_adjustment")
Key = tuple[str, str]


@dataclass(frozen=True)
class Movement:
    """A sale, return or adjustment: `delta` moves on-hand, `sold` feeds daily sales (returns negative)."""

    event_id: str
    key: Key
    at: datetime
    delta: float
    sold: float | None = None
    transfer_in: bool = False
    po_id: str | None = None  # a receipt against a PO line


@dataclass(frozen=True)
class Count:
    key: Key
    at: datetime
    on_hand: float


@dataclass(frozen=True)
class BatchMark:
    """An event's place in its ingest batch (ingest's `ingestbatch` and `ingestkeyevents` attributes): the
    batch, how many events of the key it holds, and whether this event sets or moves the stock level."""

    key: Key
    batch: str | None  # None: the event came without the attributes, so its batch's completeness is unknown
    key_events: int
    moves_stock: bool


async def apply_batch(uow: UnitOfWork, envelopes: list[Envelope]) -> None:
    """Consecutive sales and stock events are applied together; any other event alone, all in batch order.
    Every input event may mark keys dirty, so the decider is woken once the batch has committed: at once when
    a key settled (its decision is due now), else to look again after the quiet period."""
    run: list[Envelope] = []
    settled = False
    for env in envelopes:
        if env.type in SALE_TYPES or env.type in STOCK_TYPES:
            run.append(env)
            continue
        settled |= await apply_stock_events(uow, run)
        run = []
        await dispatch(uow, env)
    settled |= await apply_stock_events(uow, run)
    if clock_mode() == "event":
        await closing.after_batch(uow, envelopes)  # decisions by closed day, in this transaction
    elif envelopes:
        notify_after_commit(uow.session, due_now=settled)


def parse(envelopes: list[Envelope]) -> tuple[list[Movement], list[Count], list[BatchMark]]:
    moves, counts, marks = [], [], []
    for env in envelopes:
        if env.type in SALE_TYPES:
            sale = SaleRecorded.model_validate(env.data)
            sign = -1.0 if sale.type == "sale" else 1.0
            moves.append(Movement(sale.event_id, (sale.location, sale.sku), sale.time, sign * sale.quantity,
                                  sold=-sign * sale.quantity))
            marks.append(batch_mark(env, moves[-1].key, moves_stock=False))
            continue
        change = StockChanged.model_validate(env.data)
        key = (change.location, change.sku)
        marks.append(batch_mark(env, key, moves_stock=True))
        if change.type == "stock_adjustment":
            moves.append(Movement(change.event_id, key, change.time, change.quantity or 0.0,
                                  transfer_in=change.reason == "transfer_in", po_id=change.po_id))
        else:
            counts.append(Count(key, change.time, change.on_hand))
    return moves, counts, marks


def batch_mark(env: Envelope, key: Key, *, moves_stock: bool) -> BatchMark:
    extra = env.model_extra or {}
    batch, key_events = extra.get("ingestbatch"), extra.get("ingestkeyevents")
    if not isinstance(batch, str) or not isinstance(key_events, int) or key_events < 1:
        return BatchMark(key, None, 0, moves_stock)
    return BatchMark(key, batch, key_events, moves_stock)


def track_batches(state: dict[Key, dict[str, Any]], marks: list[BatchMark], *, now: datetime,
                  max_wait_s: float) -> set[Key]:
    """Count each key's applied events of its latest ingest batch; returns the keys that settled: all of their
    batch is applied (nothing of it can still change their stock) and either it set or moved the stock level
    (a count or an adjustment) or the key was last claimed `max_wait_s` ago or never (a slow mover's sale).
    Such a key is decided at once (repository.SETTLED). A steady stream's sales settle their key only a max
    delay after its last claim: deciding it after every batch would cost a decision per batch and key.

    A redelivered event counts again and may settle a key early; an event without the attributes makes its
    key's batch unknown. Both only cost an extra decision or the quiet period, never a decision."""
    settled: set[Key] = set()
    for mark in marks:
        row = state[mark.key]
        if mark.batch is None:
            row["batch_id"], row["batch_left"], row["batch_stock"] = None, 0, False
            settled.discard(mark.key)
            continue
        if row["batch_id"] != mark.batch:
            row["batch_id"], row["batch_left"], row["batch_stock"] = mark.batch, mark.key_events, False
        row["batch_left"] = max(row["batch_left"] - 1, 0)
        row["batch_stock"] = row["batch_stock"] or mark.moves_stock
        claimed = row.get("claimed_at")
        if row["batch_left"] == 0 and (row["batch_stock"] or claimed is None
                                       or (now - claimed).total_seconds() >= max_wait_s):
            settled.add(mark.key)
        else:
            settled.discard(mark.key)
    return settled


async def apply_stock_events(uow: UnitOfWork, envelopes: list[Envelope]) -> bool:
    """Counts are absolute as of their time; a movement counts only after the latest count; idempotent.
    Returns whether a key settled (track_batches)."""
    if not envelopes:
        return False
    moves, counts, marks = parse(envelopes)
    session = uow.session
    keys = sorted({m.key for m in moves} | {c.key for c in counts})
    # unnest arrays, not multi-row VALUES: SQLAlchemy compiles those afresh each time, which costs more than SQL
    await session.execute(text(
        "INSERT INTO policy.stock (location, sku) SELECT * FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[])) "
        "ON CONFLICT DO NOTHING"), {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys]})
    rows = await session.execute(select(stock).where(tuple_(stock.c.location, stock.c.sku).in_(keys))
                                 .order_by(stock.c.location, stock.c.sku).with_for_update())
    state = {(r.location, r.sku): dict(r._mapping) for r in rows}
    if counts and clock_mode() == "event":
        await _insert_counts(uow, counts)  # on-hand as of a closed day needs every count, not just the latest
    inserted = await _insert_ledger(uow, moves)
    new = [m for m in moves if m.event_id in inserted]
    recount = fold(state, new, moves, counts)
    settled = track_batches(state, marks, now=datetime.now(UTC), max_wait_s=policy_settings().decide_max_delay_s)
    for key, after in (await _delta_after(uow, {k: state[k]["count_at"] for k in recount})).items():
        state[key]["delta_since_count"] = after
    await _add_daily_sales(uow, new)
    for m in new:
        if m.transfer_in:  # the transfer arrived: it no longer counts as on order
            await repo.close_transfers(session, m.key[0], m.key[1], m.at)
    await _write_stock(uow, [state[k] for k in keys])
    return bool(settled)


def fold(state: dict[Key, dict[str, Any]], new: list[Movement], moves: list[Movement],
         counts: list[Count]) -> set[Key]:
    """Fold the batch into the stock rows; returns keys whose latest count changed (their delta is re-read)."""
    recount: set[Key] = set()
    for c in counts:
        row = state[c.key]
        if row["count_at"] is None or c.at >= row["count_at"]:
            row["count_on_hand"], row["count_at"] = c.on_hand, c.at
            recount.add(c.key)
        row["last_event_at"] = _later(row["last_event_at"], c.at)
    for m in moves:
        row = state[m.key]
        row["last_event_at"] = _later(row["last_event_at"], m.at)
        if m.sold is not None and m.sold > 0:
            row["last_sale_at"] = _later(row["last_sale_at"], m.at)
    for m in new:
        row = state[m.key]
        if m.key not in recount and (row["count_at"] is None or m.at > row["count_at"]):
            row["delta_since_count"] += m.delta
    return recount


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


async def _insert_ledger(uow: UnitOfWork, moves: list[Movement]) -> set[str]:
    """Ledger rows of the movements; returns the event ids that were not there yet."""
    if not moves:
        return set()
    rows = await uow.session.execute(text(
        "INSERT INTO policy.ledger (event_id, location, sku, event_time, delta, po_id) "
        "SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:locs AS text[]), CAST(:skus AS text[]), "
        "CAST(:ats AS timestamptz[]), CAST(:deltas AS float8[]), CAST(:pos AS text[])) "
        "ON CONFLICT DO NOTHING RETURNING event_id"),
        {"ids": [m.event_id for m in moves], "locs": [m.key[0] for m in moves], "skus": [m.key[1] for m in moves],
         "ats": [m.at for m in moves], "deltas": [m.delta for m in moves], "pos": [m.po_id for m in moves]})
    return {r.event_id for r in rows}


async def _insert_counts(uow: UnitOfWork, counts: list[Count]) -> None:
    await uow.session.execute(text(
        "INSERT INTO policy.counts (location, sku, count_at, on_hand) SELECT * FROM unnest(CAST(:locs AS text[]), "
        "CAST(:skus AS text[]), CAST(:ats AS timestamptz[]), CAST(:qty AS float8[])) ON CONFLICT DO NOTHING"),
        {"locs": [c.key[0] for c in counts], "skus": [c.key[1] for c in counts], "ats": [c.at for c in counts],
         "qty": [c.on_hand for c in counts]})


async def _delta_after(uow: UnitOfWork, count_at: dict[Key, datetime]) -> dict[Key, float]:
    """Sum of ledger movements after each key's count, in one statement."""
    if not count_at:
        return {}
    keys = list(count_at)
    rows = await uow.session.execute(text(
        "SELECT v.location, v.sku, COALESCE(SUM(l.delta), 0) AS after "
        "FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:ats AS timestamptz[])) "
        "AS v(location, sku, at) "
        "LEFT JOIN policy.ledger l ON l.location = v.location AND l.sku = v.sku AND l.event_time > v.at "
        "GROUP BY v.location, v.sku"),
        {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys], "ats": [count_at[k] for k in keys]})
    return {(r.location, r.sku): float(r.after) for r in rows}


async def _add_daily_sales(uow: UnitOfWork, moves: list[Movement]) -> None:
    sold = [m for m in moves if m.sold is not None]
    if not sold:
        return
    zones = await _zones(uow, {m.key[0] for m in sold})
    totals: dict[tuple[str, str, date], float] = defaultdict(float)
    for m in sold:
        totals[(*m.key, m.at.astimezone(zones.get(m.key[0], UTC)).date())] += m.sold
    rows = sorted(totals.items())
    await uow.session.execute(text(
        "INSERT INTO policy.daily_sales AS d (location, sku, day, quantity) "
        "SELECT * FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:days AS date[]), "
        "CAST(:qty AS float8[])) ON CONFLICT (location, sku, day) "
        "DO UPDATE SET quantity = GREATEST(d.quantity + excluded.quantity, 0)"),
        {"locs": [k[0] for k, _ in rows], "skus": [k[1] for k, _ in rows], "days": [k[2] for k, _ in rows],
         "qty": [q for _, q in rows]})


async def _zones(uow: UnitOfWork, locs: set[str]) -> dict[str, Any]:
    """Each location's time zone (days are local calendar days, docs/contract.md §8); UTC when unknown."""
    rows = await uow.session.execute(select(locations.c.location, locations.c.data)
                                     .where(locations.c.location.in_(sorted(locs))))
    out = {}
    for r in rows:
        try:
            out[r.location] = ZoneInfo(r.data.get("timezone") or "UTC")
        except (KeyError, ValueError):
            out[r.location] = UTC
    return out


async def _write_stock(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """All touched rows in one statement, each marked dirty (its first-dirty time kept)."""
    await uow.session.execute(text(
        "UPDATE policy.stock s SET count_on_hand = v.count_on_hand, count_at = v.count_at, "
        "delta_since_count = v.delta, last_event_at = v.last_event_at, last_sale_at = v.last_sale_at, "
        "dirty_at = now(), dirty_since = COALESCE(s.dirty_since, now()), batch_id = v.batch_id, "
        "batch_left = v.batch_left, batch_stock = v.batch_stock "
        "FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:counts AS float8[]), "
        "CAST(:count_ats AS timestamptz[]), CAST(:deltas AS float8[]), CAST(:events AS timestamptz[]), "
        "CAST(:sales AS timestamptz[]), CAST(:batches AS text[]), CAST(:lefts AS int[]), "
        "CAST(:stocks AS boolean[])) AS v(location, sku, count_on_hand, count_at, delta, last_event_at, "
        "last_sale_at, batch_id, batch_left, batch_stock) WHERE s.location = v.location AND s.sku = v.sku"),
        {"locs": [r["location"] for r in rows], "skus": [r["sku"] for r in rows],
         "counts": [r["count_on_hand"] for r in rows], "count_ats": [r["count_at"] for r in rows],
         "deltas": [r["delta_since_count"] for r in rows], "events": [r["last_event_at"] for r in rows],
         "sales": [r["last_sale_at"] for r in rows], "batches": [r["batch_id"] for r in rows],
         "lefts": [r["batch_left"] for r in rows], "stocks": [r["batch_stock"] for r in rows]})
