"""Folding a batch of sales and counts into stock rows keeps the per-event, event-time semantics."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.policy.batch import BatchMark, Count, Key, Movement, batch_mark, fold, track_batches
from shared.events.envelope import Envelope

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
KEY = ("store-1", "SKU-1")


def _row(**values) -> dict:
    return {"count_on_hand": None, "count_at": None, "delta_since_count": 0.0, "last_event_at": None,
            "last_sale_at": None, **values}


def _sale(i: int, hours: float, qty: float = 1.0) -> Movement:
    return Movement(f"s{i}", KEY, T0 + timedelta(hours=hours), -qty, sold=qty)


def test_movements_after_the_latest_count_move_on_hand():
    state = {KEY: _row(count_on_hand=50.0, count_at=T0, delta_since_count=-2.0)}
    moves = [_sale(1, 1, 3), _sale(2, -1, 4)]  # the second happened before the count: already in it
    recount = fold(state, moves, moves, [])
    assert recount == set()
    assert state[KEY]["delta_since_count"] == -5.0
    assert state[KEY]["last_sale_at"] == T0 + timedelta(hours=1)


def test_a_newer_count_in_the_batch_asks_for_its_delta_to_be_reread():
    state = {KEY: _row(count_on_hand=50.0, count_at=T0, delta_since_count=-2.0)}
    moves = [_sale(1, 1, 3)]
    recount = fold(state, moves, moves, [Count(KEY, T0 + timedelta(hours=2), 7.0)])
    assert recount == {KEY}
    assert (state[KEY]["count_on_hand"], state[KEY]["count_at"]) == (7.0, T0 + timedelta(hours=2))
    assert state[KEY]["last_event_at"] == T0 + timedelta(hours=2)


def test_an_older_count_arriving_late_changes_nothing_but_last_event():
    state = {KEY: _row(count_on_hand=50.0, count_at=T0, delta_since_count=-2.0, last_event_at=T0)}
    recount = fold(state, [], [], [Count(KEY, T0 - timedelta(days=1), 99.0)])
    assert recount == set()
    assert (state[KEY]["count_on_hand"], state[KEY]["delta_since_count"]) == (50.0, -2.0)


def test_a_redelivered_movement_is_not_counted_twice():
    state = {KEY: _row()}
    moves = [_sale(1, 1, 3)]
    fold(state, [], moves, [])  # the ledger already had it: not new
    assert state[KEY]["delta_since_count"] == 0.0
    assert state[KEY]["last_event_at"] == T0 + timedelta(hours=1)


def test_a_return_is_not_a_sale_for_dead_stock():
    state = {KEY: _row()}
    ret = Movement("r1", KEY, T0, 2.0, sold=-2.0)
    fold(state, [ret], [ret], [])
    assert state[KEY]["delta_since_count"] == 2.0
    assert state[KEY]["last_sale_at"] is None


def _mark(batch: str | None, key_events: int = 1, *, moves_stock: bool = True, key: Key = KEY) -> BatchMark:
    return BatchMark(key, batch, key_events, moves_stock)


def _batch_row(**values) -> dict:
    return _row(**{"batch_id": None, "batch_left": 0, "batch_stock": False, "claimed_at": T0, **values})


def track(state: dict, marks: list[BatchMark], *, seconds_since_claim: float = 1.0) -> set:
    return track_batches(state, marks, now=T0 + timedelta(seconds=seconds_since_claim), max_wait_s=5.0)


def test_a_count_alone_in_its_ingest_batch_settles_its_key():
    state = {KEY: _batch_row()}
    assert track(state, [_mark("b1")]) == {KEY}
    assert (state[KEY]["batch_id"], state[KEY]["batch_left"], state[KEY]["batch_stock"]) == ("b1", 0, True)


def test_a_key_settles_only_once_all_of_its_batch_is_applied_across_polls():
    state = {KEY: _batch_row()}
    assert track(state, [_mark("b1", 3), _mark("b1", 3, moves_stock=False)]) == set()
    assert state[KEY]["batch_left"] == 1
    assert track(state, [_mark("b1", 3, moves_stock=False)]) == {KEY}  # the count came in the first poll


def test_sales_settle_a_key_only_when_it_was_not_claimed_for_the_max_delay():
    """A steady stream's sales would otherwise have its keys decided after every batch."""
    sales = [_mark("b1", 2, moves_stock=False)] * 2
    state = {KEY: _batch_row()}
    assert track(state, sales, seconds_since_claim=4.9) == set()
    assert state[KEY]["batch_left"] == 0 and state[KEY]["batch_stock"] is False
    assert track({KEY: _batch_row()}, sales, seconds_since_claim=5.0) == {KEY}
    assert track({KEY: _batch_row(claimed_at=None)}, sales) == {KEY}  # never decided yet


def test_a_newer_batch_starts_the_count_again_and_an_unmarked_event_unsettles():
    other = ("store-1", "SKU-2")
    state = {KEY: _batch_row(batch_id="b1", batch_left=1, batch_stock=True), other: _batch_row()}
    settled = track(state, [_mark("b2", 2), _mark("b3", key=other), _mark(None, key=other)])
    assert settled == set()
    assert (state[KEY]["batch_id"], state[KEY]["batch_left"]) == ("b2", 1)
    assert (state[other]["batch_id"], state[other]["batch_left"], state[other]["batch_stock"]) == (None, 0, False)


def test_batch_marks_are_read_from_the_envelope_attributes():
    env = Envelope(id="e", source="s", type="replenish.ingest.stock_count", time=T0, ingestbatch="b9",
                   ingestkeyevents=2)
    assert batch_mark(env, KEY, moves_stock=True) == BatchMark(KEY, "b9", 2, True)
    for bad in ({}, {"ingestbatch": "b9"}, {"ingestbatch": "b9", "ingestkeyevents": 0},
                {"ingestbatch": 7, "ingestkeyevents": 1}):
        env = Envelope(id="e", source="s", type="replenish.ingest.sale", time=T0, **bad)
        assert batch_mark(env, KEY, moves_stock=False).batch is None
