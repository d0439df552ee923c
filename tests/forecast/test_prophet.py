import datetime

import numpy as np

from services.forecast.domain.prophet_model import prophet_forecast


def test_prophet_fits_a_tiny_series_with_promotions_and_holidays():
    days, horizon = 42, 7
    promo = np.zeros(days + horizon)
    promo[::6] = 1
    demand = np.where(promo[:days] > 0, 12.0, 4.0) + np.tile([0.0, 1.0], days // 2)
    got = prophet_forecast(demand, datetime.date(2024, 3, 4), horizon, promo=promo, country="IT")
    assert got.shape == (horizon,)
    assert np.all(got >= 0)
    assert np.all((got > 1.0) & (got < 20.0))
    assert got[promo[days:] > 0].mean() > got[promo[days:] == 0].mean() + 3
