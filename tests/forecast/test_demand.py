import numpy as np
import pytest

from services.forecast.domain import accuracy, censor_stockouts, classify
from services.forecast.domain.demand import impute_censored


def test_constant_demand_is_smooth():
    assert classify(np.full(60, 10.0)) == "smooth"


def test_daily_demand_with_varied_sizes_is_erratic():
    # sizes 1 and 10: mean 5.5, variance 20.25, CV² = 0.669 ≥ 0.49; ADI 1
    assert classify(np.tile([1.0, 10.0], 30)) == "erratic"


def test_steady_demand_every_third_day_is_intermittent():
    assert classify(np.tile([5.0, 0.0, 0.0], 20)) == "intermittent"


def test_varied_demand_every_third_day_is_lumpy():
    assert classify(np.tile([1.0, 0.0, 0.0, 10.0, 0.0, 0.0], 10)) == "lumpy"


def test_censored_days_do_not_count_as_zero_demand_days():
    # 0 / NaN alternate: with NaN ignored every observed day has demand (ADI 1)
    assert classify(np.tile([5.0, np.nan], 30)) == "smooth"
    assert classify(np.tile([5.0, 0.0], 30)) == "intermittent"


def test_series_without_demand_is_intermittent():
    assert classify(np.zeros(30)) == "intermittent"
    assert classify(np.full(30, np.nan)) == "intermittent"


def test_out_of_stock_days_become_unknown():
    out = censor_stockouts(np.array([3.0, 0.0, 4.0]), np.array([True, False, True]))
    assert out[0] == 3.0 and out[2] == 4.0
    assert np.isnan(out[1])


def test_accuracy_metrics_match_hand_computation():
    # |errors| 1 + 1 over actual 6 → WAPE 1/3; Σf = Σa → bias 0; insample 0..13 has seasonal diff 7
    got = accuracy(np.array([2.0, 4.0]), np.array([3.0, 3.0]), np.arange(14.0))
    assert got["wape"] == pytest.approx(1 / 3)
    assert got["bias"] == pytest.approx(0.0)
    assert got["mase"] == pytest.approx(1 / 7)


def test_accuracy_reports_over_forecast_as_positive_bias_and_skips_unknown_days():
    got = accuracy(np.array([2.0, np.nan, 2.0]), np.array([3.0, 100.0, 3.0]), np.arange(14.0))
    assert got["bias"] == pytest.approx(0.5)
    assert got["wape"] == pytest.approx(0.5)


def test_accuracy_without_demand_has_no_wape():
    got = accuracy(np.zeros(3), np.ones(3), np.zeros(10))
    assert got == {"wape": None, "mase": None, "bias": None}


def test_a_censored_day_that_sold_something_is_estimated_from_the_larger_uncensored_days():
    seen = np.tile([0.0, 0.0, 10.0, 30.0, 40.0, 50.0, 0.0], 8)  # 56 uncensored days
    demand = np.concatenate([seen, [np.nan, np.nan, np.nan]])
    floor = np.concatenate([np.full(56, np.nan), [25.0, 0.0, 60.0]])
    out = impute_censored(demand, floor)
    assert out[:56] == pytest.approx(seen)
    assert out[56] == pytest.approx(40.0)  # E[D | D ≥ 25] of the uncensored days: (30 + 40 + 50) / 3
    assert np.isnan(out[57])  # sold nothing: D ≥ 0 says nothing, the models' level stands in
    assert out[58] >= 60.0  # above every day seen: at least the floor (plus the tail's mean excess, 0 here)


def test_too_few_uncensored_days_keep_the_floor_and_no_floor_changes_nothing():
    demand = np.array([5.0, np.nan, 7.0])
    assert impute_censored(demand, np.array([np.nan, 4.0, np.nan]))[1] == 4.0
    assert np.array_equal(impute_censored(demand, None), demand, equal_nan=True)


def test_estimating_censored_spikes_removes_most_of_the_bias_that_skipping_them_leaves():
    """Lumpy demand: half a year at an unlimited shelf, then half a year at a shelf that holds 20, where a spike
    empties it and is censored. Skipping those days learns too little; E[D | D ≥ sales] recovers most of it."""
    rng = np.random.default_rng(7)
    true = np.where(rng.random(364) < 0.1, rng.gamma(0.6, 40.0, 364), 0.0)
    capped = np.arange(364) >= 182
    sold = np.where(capped, np.minimum(true, 20.0), true)
    censored = capped & (true >= 20.0)
    demand = np.where(censored, np.nan, sold)
    skipped = np.nanmean(demand) / true.mean() - 1
    estimated = np.nanmean(impute_censored(demand, np.where(censored, sold, np.nan))) / true.mean() - 1
    assert skipped < -0.2 and abs(estimated) < abs(skipped) / 3, (skipped, estimated)
