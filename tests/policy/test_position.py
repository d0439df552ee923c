"""Positions: docs/contract.md §4 status rules, projected stockout, explanations, promotions."""

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from services.policy.domain.model import DemandView, PolicyParams, Stock
from services.policy.domain.position import compute_position
from services.policy.domain.promotions import Promotion, with_promotions

PARAMS = PolicyParams(lead_time_days=5, review_days=7, service_level=0.95)
FLAT = DemandView(daily_mean=10.0, daily_std=0.0, source="forecast:test")


def position(stock, demand=FLAT, params=PARAMS, as_of=None):
    from tests.policy.conftest import AS_OF
    return compute_position("SKU-1", "store-1", stock, demand, params, as_of or AS_OF)


def test_levels_without_variability_are_demand_over_lead_time_and_cycle():
    p = position(Stock(on_hand=100))
    assert (p.safety_stock, p.reorder_point, p.order_up_to) == (0.0, 50.0, 120.0)


def test_zero_on_hand_is_stockout_first():
    assert position(Stock(on_hand=0, on_order=500)).status == "stockout"


def test_running_out_before_lead_time_is_critical(as_of):
    p = position(Stock(on_hand=30, on_order=100))
    # 30 units at 10/day: the third day (offset 2) exhausts them, before the 5-day lead time
    assert p.projected_stockout_date == as_of.date() + timedelta(days=2)
    assert p.status == "critical"


def test_arrival_before_stockout_avoids_critical(as_of):
    arrivals = ((as_of.date() + timedelta(days=2), 100.0),)
    p = position(Stock(on_hand=30, on_order=100, arrivals=arrivals))
    # 30 + 100 - 10·t stays positive until day 13
    assert p.projected_stockout_date == as_of.date() + timedelta(days=12)
    assert p.status == "ok"


def test_position_at_reorder_point_is_watch():
    params = PolicyParams(lead_time_days=5, min_level=60)
    # 60 units last exactly the 5-day lead time, so not critical; IP 60 ≤ ROP 60
    assert position(Stock(on_hand=60), params=params).status == "watch"
    assert position(Stock(on_hand=60, on_order=1), params=params).status == "ok"


def test_overstock_beyond_order_up_to_plus_30_days():
    # S = 120, 30 days of demand = 300: overstock above 420
    assert position(Stock(on_hand=421)).status == "overstock"
    assert position(Stock(on_hand=420)).status == "ok"


def test_days_of_cover_is_on_hand_over_daily_demand():
    assert position(Stock(on_hand=75)).days_of_cover == pytest.approx(7.5)
    assert position(Stock(on_hand=75), DemandView(0.0, 0.0)).days_of_cover is None


def test_explanation_fills_numbers_into_formula():
    demand = DemandView(daily_mean=20.0, daily_std=5.0, source="forecast:ets")
    params = PolicyParams(lead_time_days=9, lead_time_std_days=2)
    p = position(Stock(on_hand=500), demand, params)
    formula = p.explanation["formulas"]["safety_stock"]
    assert "1.645·√(9·5² + 20²·2²) = 70.27" in formula
    assert p.explanation["inputs"]["demand_source"] == "forecast:ets"


def test_planner_min_max_override_levels():
    p = position(Stock(on_hand=100), params=PolicyParams(lead_time_days=5, min_level=30, max_level=80))
    assert (p.reorder_point, p.order_up_to) == (30.0, 80.0)


def test_horizon_means_drive_protection_demand():
    demand = DemandView(10.0, 0.0, horizon_means=np.array([10, 10, 10, 40, 40.0]))
    assert position(Stock(on_hand=500), demand).reorder_point == pytest.approx(110.0)


def test_promotion_raises_target_before_its_start(as_of):
    today = as_of.date()
    promo = [Promotion(start=today + timedelta(days=3), end=today + timedelta(days=10), expected_uplift=2.0)]
    before = position(Stock(on_hand=500))
    raised = with_promotions(FLAT, promo, today, 30)
    after = position(Stock(on_hand=500), raised)
    # the lead time covers the 5 days after today; today + 3, + 4 and + 5 are doubled: ROP 50 → 80
    assert after.reorder_point == pytest.approx(80.0)
    assert before.reorder_point == pytest.approx(50.0)
    far = with_promotions(FLAT, [Promotion(date(2027, 1, 1), date(2027, 1, 5), 2.0)], today, 30)
    assert far is FLAT
    # a forecast that already lifted today + 3 … + 5 for the promotion is not lifted again
    known = replace(FLAT, horizon_means=np.full(30, FLAT.daily_mean),
                    horizon_promo=np.arange(30) >= 2)
    assert with_promotions(known, promo, today, 30) is known
