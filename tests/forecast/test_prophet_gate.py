import datetime

import numpy as np

from services.forecast.domain import SeriesHistory
from services.forecast.domain.batch import build_design
from services.forecast.domain.prophet_pass import candidates

DAY = datetime.date(2024, 1, 1)


def history(key, level, days=200, country="IT"):
    return SeriesHistory(key, DAY, np.full(days, float(level)), country=country)


def test_prophet_is_tried_only_on_long_frequent_series_with_drivers_and_poor_backtest():
    members = [history("small", 5), history("big", 50), history("no-drivers", 80, country=None),
               history("short", 90, days=100), history("lumpy", 70), history("accurate", 60)]
    classes = np.array(["smooth", "smooth", "smooth", "smooth", "lumpy", "smooth"])
    fitted = np.full((6, 28), 10.0)
    errors = np.full((6, 28), 5.0)  # WAPE 5 / 15 = 0.33 > 0.2
    errors[5] = 1.0  # WAPE 1 / 11 = 0.09: the cheap model is good enough
    rows = candidates(members, build_design(members, 7), classes, errors, fitted, budget=10)
    assert rows == [1, 0]  # largest volume first


def test_prophet_trials_respect_the_budget():
    members = [history(f"s{i}", 10 + i) for i in range(5)]
    classes = np.array(["smooth"] * 5)
    rows = candidates(members, build_design(members, 7), classes, np.full((5, 28), 5.0),
                      np.full((5, 28), 10.0), budget=2)
    assert rows == [4, 3]
