import numpy as np
import pytest

from services.forecast.domain import accuracy, censor_stockouts, classify


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
