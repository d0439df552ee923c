"""Overrides, live accuracy and the published payload (pure parts of the forecaster)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import numpy as np

from services.forecast.domain import SeriesForecast
from services.forecast.payload import apply_overrides, forecast_payload, live_accuracy

START = date(2026, 5, 1)


def _forecast(mean: float = 10.0, days: int = 5) -> SeriesForecast:
    return SeriesForecast(key="s1:A", model="ses_weekly", demand_class="smooth", start=START,
                          mean=np.full(days, mean), quantiles={0.1: np.full(days, mean - 2), 0.5: np.full(days, mean),
                                                               0.9: np.full(days, mean + 3),
                                                               0.95: np.full(days, mean + 5)},
                          residual_std=2.0, accuracy={"wape": 0.2, "mase": 0.8, "bias": 0.01}, low_confidence=False)


def _override(start: date, end: date, quantity=None, multiplier=None):
    return SimpleNamespace(start=start, end=end, quantity=quantity, multiplier=multiplier)


def test_override_quantity_replaces_the_mean_and_scales_quantiles_on_its_days_only():
    mean, qs = apply_overrides(_forecast(), [_override(START + timedelta(days=1), START + timedelta(days=2), 20.0)], 5)
    assert list(mean) == [10, 20, 20, 10, 10]
    assert list(qs[0.9]) == [13, 26, 26, 13, 13]


def test_override_multiplier_scales_and_horizon_is_cut_to_the_series_own_length():
    mean, qs = apply_overrides(_forecast(), [_override(START, START + timedelta(days=30), multiplier=0.5)], 3)
    assert list(mean) == [5, 5, 5] and list(qs[0.1]) == [4, 4, 4]


def test_override_on_a_zero_forecast_sets_the_whole_distribution():
    mean, qs = apply_overrides(_forecast(mean=0.0), [_override(START, START, 7.0)], 2)
    assert list(mean) == [7, 0] and qs[0.1][0] == qs[0.9][0] == 7


def test_live_accuracy_scores_the_latest_forecast_made_before_each_day():
    logs = [SimpleNamespace(as_of=START, means=[10, 10, 10]),
            SimpleNamespace(as_of=START + timedelta(days=1), means=[12, 12])]
    actual = {START + timedelta(days=1): 8.0, START + timedelta(days=2): 12.0, START + timedelta(days=3): 10.0}
    # pairs: day1 (8, 10), day2 (12, 12), day3 (10, 12): |e| = 2, 0, 2; Σa = 30; Σf = 34
    history = np.array([4.0, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5])  # seasonal-naive scale 1.0
    live = live_accuracy(logs, actual, history)
    assert live["days"] == 3
    assert abs(live["wape"] - 4 / 30) < 1e-12
    assert abs(live["bias"] - 4 / 30) < 1e-12
    assert abs(live["mase"] - 4 / 3) < 1e-12


def test_payload_shows_backtest_accuracy_until_enough_live_days_then_live():
    row = SimpleNamespace(sku="A", location="s1", last_day=START - timedelta(days=1))
    fc = _forecast()
    now = datetime(2026, 5, 1, tzinfo=UTC)
    few = {"wape": 0.5, "mase": 1.0, "bias": 0.1, "days": 3}
    body = forecast_payload(row, fc, fc.mean, fc.quantiles, now, few)
    assert body["accuracy_source"] == "backtest" and body["accuracy"]["wape"] == 0.2
    assert body["live_accuracy"] == few
    many = {**few, "days": 20}
    body = forecast_payload(row, fc, fc.mean, fc.quantiles, now, many)
    assert body["accuracy_source"] == "live" and body["accuracy"] == {"wape": 0.5, "mase": 1.0, "bias": 0.1}
    assert body["backtest_accuracy"]["wape"] == 0.2


def test_payload_carries_extra_quantiles_by_level_and_the_contract_fields():
    row = SimpleNamespace(sku="A", location="s1", last_day=START - timedelta(days=1))
    fc = _forecast()
    body = forecast_payload(row, fc, fc.mean, fc.quantiles, datetime(2026, 5, 1, tzinfo=UTC), {"days": 0},
                            cold_start="like_sku")
    assert body["quantiles"] == {"p95": [15.0] * 5}
    assert body["horizon"][0] == {"date": "2026-05-01", "mean": 10.0, "p10": 8.0, "p50": 10.0, "p90": 13.0}
    assert body["as_of"] == "2026-04-30" and body["cold_start"] == "like_sku"


def test_horizon_days_lifted_for_a_known_promotion_are_flagged_for_policy():
    row = SimpleNamespace(sku="A", location="s1", last_day=START - timedelta(days=1))
    fc = _forecast()
    promo = np.array([False, True, True, False, False])
    body = forecast_payload(row, fc, fc.mean, fc.quantiles, datetime(2026, 5, 1, tzinfo=UTC), {"days": 0},
                            promo=promo)
    assert [p.get("promo", False) for p in body["horizon"]] == promo.tolist()
    plain = forecast_payload(row, fc, fc.mean, fc.quantiles, datetime(2026, 5, 1, tzinfo=UTC), {"days": 0})
    assert all("promo" not in p for p in plain["horizon"])
