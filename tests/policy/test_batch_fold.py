"""Folding a batch of sales and counts into stock rows keeps the per-event, event-time semantics."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.policy.batch import Count, Movement, fold

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
