"""The in-memory fold of sales and stock events: demand per local day, on_hand from the last count, censoring."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.forecast.history import Fold, Movement, SeriesState, censored_days, zone_of

KEY = ("L1", "S1")
T = datetime(2026, 5, 10, 12, tzinfo=UTC)
D = date(2026, 5, 10)


def _apply(fold: Fold, kind: str, qty: float | None, at: datetime = T, day: date = D) -> None:
    fold.apply(Movement(KEY, at, kind, qty), day)


def test_sales_add_up_per_day_and_a_return_only_moves_stock():
    fold = Fold({})
    _apply(fold, "stock_count", 10.0)
    _apply(fold, "sale", 2.0, T + timedelta(hours=1))
    _apply(fold, "sale", 3.0, T + timedelta(hours=2))
    _apply(fold, "return", 1.0, T + timedelta(hours=3))
    fold.finish()
    row = fold.series[KEY]
    assert fold.demand == {("L1", "S1", D): 5.0}
    assert row.on_hand == 6.0 and row.changed_quantity == 5.0 and row.on_hand_at == T
    assert (row.first_day, row.last_day, row.touched) == (D, D, True)


def test_a_return_to_an_unknown_series_is_ignored():
    fold = Fold({})
    _apply(fold, "return", 4.0)
    fold.finish()
    assert not fold.series[KEY].exists and not fold.series[KEY].moved and fold.demand == {}


def test_movement_before_the_last_count_and_a_stale_count_are_ignored():
    fold = Fold({KEY: SeriesState(True, D, D, 0.0, on_hand=8.0, on_hand_at=T)})
    _apply(fold, "sale", 2.0, T - timedelta(minutes=1))   # already in the count: demand, no stock move
    _apply(fold, "stock_count", 1.0, T - timedelta(hours=1))
    _apply(fold, "stock_adjustment", -3.0, T)             # same instant as the count: applies
    assert fold.series[KEY].on_hand == 5.0 and fold.series[KEY].on_hand_at == T
    assert fold.demand == {("L1", "S1", D): 2.0}


def test_stock_back_censors_every_day_since_the_shelf_emptied():
    fold = Fold({KEY: SeriesState(True, D, D, 0.0, on_hand=1.0, on_hand_at=T)})
    _apply(fold, "sale", 1.0, T + timedelta(hours=1))                            # empty on day D
    _apply(fold, "sale", 1.0, T + timedelta(days=1), D + timedelta(days=1))      # -1 on D+1
    _apply(fold, "stock_count", 12.0, T + timedelta(days=3), D + timedelta(days=3))
    fold.finish()
    row = fold.series[KEY]
    assert row.on_hand == 12.0 and row.out_since is None
    assert fold.stockout == {("L1", "S1", D + timedelta(days=i)) for i in range(4)}
    assert fold.demand[("L1", "S1", D + timedelta(days=2))] == 0.0  # a censored day with no sale
    assert fold.demand[("L1", "S1", D)] == 1.0


def test_censoring_is_capped_at_a_year():
    days = censored_days(date(2024, 1, 1), date(2026, 1, 1))
    assert len(days) == 367 and days[0] == date(2026, 1, 1) and days[-1] == date(2024, 12, 31)


def test_an_unknown_or_invalid_time_zone_is_utc():
    assert zone_of(None).utcoffset(T) == timedelta(0) and zone_of({"timezone": "Mars/Olympus"}) is UTC
    assert datetime(2026, 1, 1, 18, tzinfo=UTC).astimezone(zone_of({"timezone": "Asia/Shanghai"})).day == 2
