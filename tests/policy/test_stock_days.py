"""End-of-day on-hand from movements and counts, and the stock figures over it (pure, no I/O)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.policy.stock_days import KeyDays, StockTally, end_of_day_on_hand

D1 = date(2026, 5, 1)


def day(i: int) -> date:
    return D1 + timedelta(days=i)


def test_a_later_count_governs_from_its_day_and_the_first_one_backwards():
    key = KeyDays("s", "k")
    for i, delta in enumerate([-5, -5, -5, -5]):
        key.note_move(day(i), delta, day(0), day(0))
    # a count of 20 on day 0 after its sale (sum of movements so far −5: offset 25), and a count of 4 on day 2
    # after its sale (shrinkage of 1: movements so far −15, offset 19)
    key.note_anchor(day(0), 25)
    key.note_anchor(day(2), 19)
    assert end_of_day_on_hand(key, day(0), day(3)) == [(day(0), 20), (day(1), 15), (day(2), 4), (day(3), -1)]


def test_without_a_count_the_on_hand_is_the_sum_of_movements_from_before_the_window():
    key = KeyDays("s", "k")
    key.note_move(day(-3), 12, day(-3), day(0))  # a receipt before the window
    key.note_move(day(1), -2, day(-3), day(0))
    assert end_of_day_on_hand(key, day(0), day(2)) == [(day(0), 12), (day(1), 10), (day(2), 10)]
    assert end_of_day_on_hand(KeyDays("s", "idle"), day(0), day(2)) == []


def test_days_before_the_first_event_are_not_counted():
    key = KeyDays("s", "k")
    key.note_anchor(day(2), 8)
    assert [d for d, _ in end_of_day_on_hand(key, day(0), day(3))] == [day(2), day(3)]


def test_lost_demand_without_a_day_in_stock_comes_from_the_position_daily_demand():
    key = KeyDays("s", "k", unit_cost=None, daily_demand=3.0)
    key.sold = {day(0): 1.0}
    tally = StockTally()
    tally.add(key, [(day(0), 0.0), (day(1), -2.0)])
    figures = tally.figures(2)
    assert (figures["stockout_days"], figures["estimated_lost_demand"], figures["served"]) == (2, 5.0, 1.0)
    assert figures["estimated_fill_rate"] == pytest.approx(1 / 6)
    assert figures["keys_without_cost"] == 1 and figures["turns"] is None
