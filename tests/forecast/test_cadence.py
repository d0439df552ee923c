"""Event clock rules (pure): which days of a location are closed, and which series are due on each day."""
from __future__ import annotations

from datetime import date, timedelta

from services.forecast.cadence import (
    LocationClock,
    SeriesClock,
    chunks,
    closed_through,
    days_to_decide,
    due_plan,
    is_due,
)

D = date(2025, 3, 1)


def day(i: int) -> date:
    return D + timedelta(days=i)


def test_markers_close_their_day_and_every_earlier_one():
    clock = LocationClock(first_day=day(0), last_day=day(9), punctuated=True, decided=None)
    assert closed_through(clock, [day(2), day(3)]) == day(3)
    assert days_to_decide(clock, [day(2), day(3)]) == [day(0), day(1), day(2), day(3)]


def test_a_punctuated_location_does_not_close_on_later_events():
    clock = LocationClock(first_day=day(0), last_day=day(9), punctuated=True, decided=day(3))
    assert closed_through(clock, []) is None and days_to_decide(clock, []) == []


def test_without_day_close_an_event_of_a_later_day_closes_the_days_before_it():
    clock = LocationClock(first_day=day(0), last_day=day(5), punctuated=False, decided=day(1))
    assert closed_through(clock, []) == day(4)
    assert days_to_decide(clock, []) == [day(2), day(3), day(4)]
    assert days_to_decide(LocationClock(day(0), day(0), False, None), []) == []  # its only day is still open


def test_a_first_day_closes_by_event_time_only_once_an_event_two_days_later_is_applied():
    # a replay's opening counts on day 0, its first sales on day 1: day 0 waits for day 1's day_close
    assert days_to_decide(LocationClock(day(0), day(1), False, None), []) == []
    assert days_to_decide(LocationClock(day(0), day(2), False, None), []) == [day(0), day(1)]


def test_decided_days_are_not_decided_again():
    clock = LocationClock(first_day=day(0), last_day=day(9), punctuated=True, decided=day(5))
    assert days_to_decide(clock, [day(6)]) == [day(6)]
    assert days_to_decide(clock, []) == []


def test_a_location_with_markers_and_no_event_starts_at_its_first_closed_day():
    assert days_to_decide(LocationClock(None, None, True, None), [day(3), day(4)]) == [day(3), day(4)]


def test_due_when_new_every_refit_days_and_after_a_promotion_announcement():
    assert is_due(day(0), None, [], day(0), 7)
    assert not is_due(day(1), None, [], day(0), 7)  # not started yet
    assert not is_due(day(0), day(0), [], day(6), 7) and is_due(day(0), day(0), [], day(7), 7)
    assert is_due(day(0), day(0), [day(3)], day(3), 7)       # announced since the last forecast
    assert not is_due(day(0), day(3), [day(3)], day(4), 7)   # already seen by the forecast as of day 3
    assert not is_due(day(0), day(0), [day(5)], day(4), 7)   # announced later: not yet
    assert not is_due(day(0), day(9), [], day(8), 7)          # never backwards


def test_a_year_replayed_forecasts_each_series_every_refit_days_not_every_day():
    series = [SeriesClock(f"S{i:02d}", day(0), None) for i in range(20)]
    plan = due_plan([day(i) for i in range(365)], series, {}, refit_days=7, budget=10_000)
    due_days = [d for d, skus in plan if skus]
    assert len(plan) == 365 and due_days == [day(i) for i in range(0, 365, 7)]
    assert all(skus == [s.sku for s in series] for d, skus in plan if skus)


def test_the_plan_is_the_same_however_many_days_are_planned_at_once():
    series = [SeriesClock("A", day(0), None), SeriesClock("B", day(3), None), SeriesClock("C", day(1), day(-2))]
    touches = {"A": [day(4)], "C": [day(10)]}
    days = [day(i) for i in range(30)]
    whole = due_plan(days, series, touches, 7, budget=1000)
    pieces, clocks, rest = [], list(series), days
    while rest:  # one day at a time, carrying as_of forward as the service does between plans
        step = due_plan(rest, clocks, touches, 7, budget=1)
        pieces += step
        done = {sku: d for d, skus in step for sku in skus}
        clocks = [SeriesClock(c.sku, c.first_day, done.get(c.sku, c.as_of)) for c in clocks]
        rest = rest[len(step):]
    assert pieces == whole
    assert whole[4] == (day(4), ["A"]) and whole[3] == (day(3), ["B"]) and whole[5] == (day(5), ["C"])


def test_the_budget_stops_the_plan_before_a_day_that_would_exceed_it_but_plans_at_least_one():
    series = [SeriesClock(f"S{i}", day(0), None) for i in range(5)]
    plan = due_plan([day(i) for i in range(10)], series, {}, 7, budget=3)
    assert [d for d, _ in plan] == [day(i) for i in range(7)]  # day 0 (5 > 3, but the first), then empty days
    assert len(plan[0][1]) == 5


def test_fit_chunks_are_fixed_size_in_order():
    assert chunks(list(range(5)), 2) == [[0, 1], [2, 3], [4]] and chunks([], 3) == []
