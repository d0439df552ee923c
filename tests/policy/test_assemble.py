"""Assembly of one key's decision inputs from the rows the decider read in bulk."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.policy.domain.assemble import (
    blend_lead_time,
    donors_from,
    forecast_demand,
    history_demand,
    local_day_in,
    promotions_from,
)

DAY = date(2026, 3, 2)


def test_local_day_follows_the_location_time_zone_and_falls_back_to_utc():
    at = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert local_day_in("Europe/Paris", at) == date(2026, 3, 3)   # 00:30 in Paris
    assert local_day_in(None, at) == date(2026, 3, 2)
    assert local_day_in("Nowhere/Atlantis", at) == date(2026, 3, 2)


def test_forecast_demand_uses_the_days_after_the_decision_day():
    horizon = [{"date": "2026-03-02", "mean": 100.0, "p10": 0.0, "p90": 0.0},
               {"date": "2026-03-03", "mean": 10.0, "p10": 4.874, "p90": 15.126},
               {"date": "2026-03-04", "mean": 20.0, "p10": 14.874, "p90": 25.126}]
    view = forecast_demand({"model": "ets", "horizon": horizon}, DAY)
    # the 2 March point is not after the day; p90 − p10 = 10.252 = 4 · 2.563 → σ 4
    assert view.daily_mean == pytest.approx(15.0)
    assert view.daily_std == pytest.approx(4.0)
    assert view.source == "forecast:ets"


def test_forecast_without_horizon_gives_no_demand_view():
    assert forecast_demand(None, DAY) is None
    assert forecast_demand({"model": "ets", "horizon": []}, DAY) is None


def test_history_counts_days_without_sales_as_zero_from_the_first_sale():
    view = history_demand(date(2026, 2, 27), {date(2026, 2, 27): 6.0, date(2026, 3, 1): 2.0}, DAY)
    # 27 Feb – 2 Mar = 4 days: 6, 0, 2, 0 → mean 2, sample std √(16+4+0+4)/3 = √8
    assert (view.daily_mean, view.source) == (2.0, "history:4d")
    assert view.daily_std == pytest.approx(8 ** 0.5)


def test_history_window_is_capped_at_56_days_and_empty_without_sales():
    assert history_demand(date(2025, 1, 1), {}, DAY).source == "history:56d"
    assert (history_demand(None, {}, DAY).daily_mean, history_demand(None, {}, DAY).source) == (0.0, "history")


def test_lead_time_blends_master_as_three_receipts():
    si = {"supplier_id": "S", "sku": "A", "lead_time_days": 7, "lead_time_std_days": 1}
    lead, std, info = blend_lead_time(si, 2, 12.0, 3.0)
    assert lead == pytest.approx((3 * 7 + 2 * 12) / 5)    # 9
    assert std == pytest.approx((3 * 1 + 2 * 3) / 5)      # 1.8
    assert info["source"] == "blended" and info["receipts"] == 2
    assert blend_lead_time(si, 0, 0.0, 0.0)[:2] == (7.0, 1.0)
    assert blend_lead_time(None, 0, 0.0, 0.0) == (7.0, 0.0, {"source": "default"})


def test_donor_needs_stock_above_its_order_up_to_and_a_lane_lead_time():
    lanes = [({"from_location": "dc", "lead_time_days": 1, "unit_cost": 0.5},
              {"on_hand": 500.0, "inventory_position": 450.0, "order_up_to": 100.0}),
             ({"from_location": "lean", "lead_time_days": 1}, {"on_hand": 50.0, "inventory_position": 50.0,
                                                                "order_up_to": 80.0}),
             ({"from_location": "nolane"}, {"on_hand": 500.0, "inventory_position": 500.0, "order_up_to": 0.0})]
    (donor,) = donors_from(lanes)
    assert (donor.location, donor.excess, donor.lane_lead_time_days) == ("dc", 350.0, 1.0)


def test_promotions_over_before_the_day_are_dropped():
    rows = [{"start": "2026-02-01", "end": "2026-02-10"},
            {"start": "2026-03-05T00:00:00", "end": "2026-03-08", "expected_uplift": 1.8}]
    (promo,) = promotions_from(rows, DAY)
    assert (promo.start, promo.end, promo.expected_uplift) == (date(2026, 3, 5), date(2026, 3, 8), 1.8)
