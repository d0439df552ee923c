"""The superseded policy simulator (a benchmark): lost sales accounting, no look-ahead, baseline bisection,
CSV parsing."""

from datetime import date

import numpy as np
import pytest

from replenish.policy_sim.data import DemandTable, parse_wide_rows
from replenish.policy_sim.engine import SimConfig, simulate_levels
from replenish.policy_sim.forecaster import fit_forecasts
from replenish.policy_sim.policies import tune_minmax


def test_lost_sales_and_fill_rate_with_too_little_stock():
    demand = np.full((10, 1), 10.0)
    # S = 25 opening stock, never reorders (s = -1): serves 25 of 100
    result = simulate_levels(demand, 0, lambda t: (np.array([-1.0]), np.array([25.0])), SimConfig())
    s = result.summary()
    assert s["fill_rate"] == pytest.approx(0.25)
    assert s["stockout_days"] == 8  # day 3 is partly short, days 4-10 fully
    assert s["orders"] == 0


def test_orders_arrive_after_lead_time_and_keep_fill_full():
    demand = np.full((60, 1), 10.0)
    # (s, S) = (70, 140) with a 5-day lead time covers demand exactly
    cfg = SimConfig(lead_time=5, review_days=7)
    s = simulate_levels(demand, 0, lambda t: (np.array([70.0]), np.array([140.0])), cfg).summary()
    assert s["fill_rate"] == 1.0 and s["orders"] >= 7


def test_forecast_uses_no_future_demand():
    rng = np.random.default_rng(0)
    demand = rng.poisson(5, (200, 3)).astype(float)
    changed = demand.copy()
    changed[150:] *= 10
    weekdays = np.arange(200) % 7
    a = fit_forecasts(demand, None, weekdays, 120, 14)
    b = fit_forecasts(changed, None, weekdays, 120, 14)
    assert np.allclose(a.mean[:151], b.mean[:151]) and np.allclose(a.sigma[:151], b.sigma[:151])
    assert not np.allclose(a.mean[160], b.mean[160])


def test_minmax_bisection_reaches_the_target_fill():
    rng = np.random.default_rng(1)
    demand = rng.poisson(8, (400, 4)).astype(float)
    factor, result = tune_minmax(demand, 200, SimConfig(lead_time=7, review_days=7), 0.95)
    assert result.summary()["fill_rate"] >= 0.95
    assert factor > 1.0


def test_wide_rows_fill_closed_days_with_zero_and_read_promotions():
    rows = [["DATE", "QTY_A", "QTY_B", "PROMO_A"], ["2024-01-01", "3", "4", "1"], ["2024-01-03", "5", "0", "0"]]
    table = parse_wide_rows(rows)
    assert table.skus == ("A", "B") and table.days == 3
    assert table.demand[:, 0].tolist() == [3.0, 0.0, 5.0]
    assert table.promo[:, 0].tolist() == [True, False, False]
    assert table.start == date(2024, 1, 1) and table.weekdays()[0] == 0


def test_demand_table_select_keeps_first_skus():
    table = DemandTable(date(2024, 1, 1), ("a", "b", "c"), np.ones((4, 3)), None)
    assert table.select(2).skus == ("a", "b")
