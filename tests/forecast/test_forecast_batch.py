import datetime
import itertools
import pickle

import numpy as np
import pytest

from services.forecast.domain import SeriesHistory, censor_stockouts, forecast_batch

MONDAY = datetime.date(2024, 1, 1)


def one(series: SeriesHistory, **kwargs):
    return forecast_batch([series], use_prophet=False, **kwargs)[0]


def assert_valid_quantiles(fc):
    p10, p50, p90 = fc.quantiles[0.1], fc.quantiles[0.5], fc.quantiles[0.9]
    assert np.all(p10 >= 0)
    assert np.all(p10 <= p50) and np.all(p50 <= p90)


def test_constant_series_forecasts_its_level():
    fc = one(SeriesHistory("s:1", MONDAY, np.full(120, 10.0)))
    assert fc.start == MONDAY + datetime.timedelta(days=120)
    assert len(fc.mean) == 90
    assert np.allclose(fc.mean, 10.0, atol=0.5)
    assert_valid_quantiles(fc)
    assert not fc.low_confidence


@pytest.mark.parametrize("n_days", [1, 2, 7, 14])
def test_short_history_falls_back_to_its_mean_with_low_confidence(n_days):
    demand = np.tile([2.0, 6.0], 7)[:n_days]
    fc = one(SeriesHistory("s:1", MONDAY, demand), horizon=30)
    assert np.allclose(fc.mean, demand.mean())
    assert fc.low_confidence
    assert_valid_quantiles(fc)
    assert np.all(fc.quantiles[0.9] > fc.mean)


@pytest.mark.parametrize("demand", [np.zeros(200), np.full(200, np.nan), np.array([])])
def test_series_without_known_demand_forecast_zero_without_error(demand):
    fc = one(SeriesHistory("s:1", MONDAY, demand))
    assert np.all(fc.mean == 0)
    assert all(np.all(v == 0) for v in fc.quantiles.values())


def test_weekly_pattern_is_reproduced_on_the_right_weekdays():
    demand = np.tile([1.0, 1, 1, 1, 1, 10, 10], 20)  # Monday-start: weekends sell 10
    fc = one(SeriesHistory("s:1", MONDAY, demand), horizon=14)
    assert fc.start.weekday() == 0
    assert np.allclose(fc.mean[[5, 6, 12, 13]], 10.0, atol=0.5)
    assert np.allclose(fc.mean[[0, 1, 2, 3, 4]], 1.0, atol=0.5)


def test_stockout_days_are_censored_not_zero():
    demand = np.full(140, 10.0)
    in_stock = np.ones(140, dtype=bool)
    in_stock[::3] = False
    demand[~in_stock] = 0.0  # nothing sold while out of stock
    censored = one(SeriesHistory("s:1", MONDAY, censor_stockouts(demand, in_stock)))
    naive = one(SeriesHistory("s:2", MONDAY, demand))
    assert np.allclose(censored.mean, 10.0, atol=0.5)
    assert naive.mean.mean() < 9.0


def test_known_promotions_lift_the_forecast_on_promotion_days():
    days, horizon = 364, 28
    promo = np.zeros(days + horizon)
    promo[np.arange(0, days + horizon, 10)] = 1
    demand = np.where(promo[:days] > 0, 20.0, 10.0)
    fc = one(SeriesHistory("s:1", MONDAY, demand, promo=promo), horizon=horizon)
    on = promo[days:] > 0
    assert fc.mean[on].mean() > 16.0
    assert np.allclose(fc.mean[~on], 10.0, atol=1.0)


def test_days_closed_on_public_holidays_forecast_zero():
    start = datetime.date(2022, 1, 3)
    days = (datetime.date(2024, 12, 1) - start).days
    dates = [start + datetime.timedelta(days=i) for i in range(days)]
    closed = {(1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25), (12, 26)}
    demand = np.array([0.0 if (d.month, d.day) in closed else 10.0 for d in dates])
    fc = one(SeriesHistory("s:1", start, demand, country="IT"), horizon=40)
    christmas = (datetime.date(2024, 12, 25) - fc.start).days
    assert fc.mean[christmas] < 1.0
    assert fc.mean[christmas - 2] > 8.0


def test_intermittent_demand_is_not_forecast_as_all_zero():
    rng = np.random.default_rng(7)
    demand = (rng.random(365) < 0.2) * rng.integers(1, 4, 365).astype(float)
    fc = one(SeriesHistory("s:1", MONDAY, demand))
    assert fc.demand_class in ("intermittent", "lumpy")
    assert fc.mean.mean() == pytest.approx(demand.mean(), rel=0.5)
    assert_valid_quantiles(fc)


def test_quantiles_are_ordered_and_non_negative_for_every_class():
    rng = np.random.default_rng(3)
    batch = [
        SeriesHistory("smooth", MONDAY, rng.poisson(30, 400).astype(float)),
        SeriesHistory("erratic", MONDAY, rng.negative_binomial(1, 0.1, 400).astype(float)),
        SeriesHistory("intermittent", MONDAY, rng.poisson(0.2, 400).astype(float)),
        SeriesHistory("lumpy", MONDAY, (rng.random(400) < 0.1) * rng.integers(1, 40, 400).astype(float)),
    ]
    for fc in forecast_batch(batch, quantiles=(0.05, 0.95), use_prophet=False):
        assert set(fc.quantiles) == {0.05, 0.1, 0.5, 0.9, 0.95}
        levels = [fc.quantiles[q] for q in sorted(fc.quantiles)]
        assert all(np.all(a <= b) for a, b in itertools.pairwise(levels))
        assert np.all(levels[0] >= 0)


def test_cold_start_borrows_the_like_profile_with_low_confidence():
    profile = np.tile([2.0, 2, 2, 2, 2, 6, 6], 2)
    fc = one(SeriesHistory("new:1", MONDAY, np.array([]), like_profile=profile), horizon=14)
    assert fc.model == "cold_start"
    assert np.allclose(fc.mean, profile)
    assert fc.low_confidence


def test_forecasts_keep_batch_order_and_survive_pickling():
    batch = [SeriesHistory(f"s:{i}", MONDAY, np.full(30 + 50 * i, float(i))) for i in range(4)]
    out = pickle.loads(pickle.dumps(forecast_batch(batch, horizon=7, use_prophet=False)))
    assert [f.key for f in out] == [s.key for s in batch]
    assert [round(float(f.mean[0])) for f in out] == [0, 1, 2, 3]


def test_invalid_quantile_level_is_rejected():
    with pytest.raises(ValueError):
        one(SeriesHistory("s:1", MONDAY, np.ones(30)), quantiles=(1.5,))


def test_residual_std_widens_when_errors_persist_across_days_and_not_when_they_are_independent():
    from services.forecast.domain.spread import residual_std

    rng = np.random.default_rng(1)
    independent = rng.normal(0.0, 2.0, (1, 3 * 28))
    # the same daily σ, but each week's errors share one level error (a forecast off for a while)
    persistent = np.repeat(rng.normal(0.0, 2.0, (1, 12)), 7, axis=1)
    assert residual_std(independent, 28)[0] == pytest.approx(float(np.std(independent)), rel=0.35)
    assert residual_std(persistent, 28)[0] > 2.0 * float(np.std(persistent))
    censored = independent.copy()
    censored[0, :5] = np.nan  # a week with too few known days does not count; nothing becomes NaN
    assert np.isfinite(residual_std(censored, 28)).all()
