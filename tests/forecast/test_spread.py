"""σ of backtest errors as policy protects with it: one for every day, and one each for promotion and other days."""
import datetime

import numpy as np
import pytest

from services.forecast.domain import SeriesHistory, forecast_batch
from services.forecast.domain.spread import regime_std, residual_std

STEP = 28


def test_no_promotion_in_the_backtest_gives_no_regimes():
    errors = np.random.default_rng(0).normal(0, 2, (3, 3 * STEP))
    overall = residual_std(errors, STEP)
    regular, promo = regime_std(errors, np.zeros(errors.shape, dtype=bool), STEP, overall)
    assert np.isnan(regular).all() and np.isnan(promo).all()


def test_promotion_weeks_err_wider_than_the_others():
    rng = np.random.default_rng(1)
    errors = rng.normal(0, 1.0, (1, 3 * STEP))
    promo = np.zeros(errors.shape, dtype=bool)
    for start in (7, 35, 63):  # one promotion week per origin, each off by ~40 units in total
        promo[0, start:start + 7] = True
        errors[0, start:start + 7] += 40 / 7 + rng.normal(0, 1.0, 7)
    regular, on_promo = regime_std(errors, promo, STEP, residual_std(errors, STEP))
    assert regular[0] == pytest.approx(1.0, rel=0.35)
    assert on_promo[0] == pytest.approx(40 / np.sqrt(7), rel=0.2)  # a week's error sum ÷ √7 per day
    assert residual_std(errors, STEP)[0] > 2 * regular[0]  # one σ for every day: the promotion's, all year


def test_promotion_sigma_is_never_below_the_regular_one():
    rng = np.random.default_rng(2)
    errors = rng.normal(0, 3.0, (1, 3 * STEP))
    promo = np.zeros(errors.shape, dtype=bool)
    promo[0, 10:12] = True
    errors[0, 10:12] = 0.0
    regular, on_promo = regime_std(errors, promo, STEP, residual_std(errors, STEP))
    assert on_promo[0] >= regular[0] > 0


def test_a_promotion_driven_series_forecasts_two_spreads():
    rng = np.random.default_rng(5)
    days = 400
    promo = np.zeros(days + 90)
    for start in range(20, days + 90, 45):
        promo[start:start + 7] = 1
    demand = rng.poisson(np.where(promo[:days] > 0, rng.uniform(5, 40, days), 1.0)).astype(float)
    series = SeriesHistory("s:A", datetime.date(2025, 1, 1), demand, promo=promo)
    fc = forecast_batch([series], horizon=90, use_prophet=False)[0]
    assert fc.regular_std is not None and fc.promo_std is not None
    assert fc.promo_std > 3 * fc.regular_std
    assert fc.regular_std < fc.residual_std
