"""Horizon rule and cold-start profiles of the forecaster (pure)."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from services.forecast.planning import (
    DayDemand,
    borrowed_profile,
    profile_sources,
    required_horizon,
    review_days,
    split_round,
)
from services.forecast.settings import ForecastSettings

END = date(2026, 3, 1)  # a Sunday


def test_horizon_is_the_default_when_lead_and_review_are_short():
    items = [{"sku": "A", "lead_time_days": 7}]
    assert required_horizon("A", None, "s1", items, [], default=90, default_review=7) == 90


def test_horizon_covers_longest_lead_time_plus_review_plus_four_weeks():
    items = [{"sku": "A", "lead_time_days": 40}, {"sku": "A", "lead_time_days": 55.5},
             {"sku": "B", "lead_time_days": 300}]
    policies = [{"sku": "A", "review_days": 14}]
    # 55.5 + 14 = 69.5 -> 70, + 28 = 98
    assert required_horizon("A", None, "s1", items, policies, default=90, default_review=7) == 98


def test_most_specific_policy_sets_the_review_period():
    policies = [{"review_days": 3}, {"category": "pasta", "review_days": 10}, {"sku": "A", "review_days": 21},
                {"sku": "A", "location": "s2", "review_days": 30}]
    assert review_days("A", "pasta", "s1", policies, 7) == 21
    assert review_days("B", "pasta", "s1", policies, 7) == 10
    assert review_days("C", "rice", "s1", policies, 7) == 3


def test_like_sku_wins_over_category():
    items = {"OLD": {"sku": "OLD", "category": "pasta"}, "X": {"sku": "X", "category": "pasta"}}
    assert profile_sources({"sku": "NEW", "like_sku": "OLD", "category": "pasta"}, items) == ("like_sku", ["OLD"])
    assert profile_sources({"sku": "NEW", "category": "pasta"}, items) == ("category", ["OLD", "X"])
    assert profile_sources({"sku": "NEW"}, items) == ("", [])


def test_like_profile_keeps_weekday_shape_aligned_to_the_first_forecast_day():
    # source: 20 on Saturdays, 10 otherwise, over the four weeks ending END (a Sunday)
    days = [DayDemand("OLD", END - timedelta(days=k), 20.0 if (END - timedelta(days=k)).weekday() == 5 else 10.0)
            for k in range(28)]
    first = date(2026, 3, 5)  # a Thursday: index 2 is the Saturday
    profile = borrowed_profile(days, ["OLD"], {"OLD": (END - timedelta(days=400), END)}, first)
    assert profile is not None and len(profile) == 28
    assert [profile[i] for i in range(7)] == [10, 10, 20, 10, 10, 10, 10]


def test_censored_source_days_are_filled_with_the_observed_mean_not_zero():
    days = [DayDemand("OLD", END - timedelta(days=k), 6.0, censored=k < 7) for k in range(28)]
    days = [d if not d.censored else DayDemand(d.sku, d.day, 0.0, True) for d in days]
    profile = borrowed_profile(days, ["OLD"], {"OLD": (END - timedelta(days=100), END)}, END + timedelta(days=1))
    assert np.allclose(profile, 6.0)


def test_category_profile_is_the_mean_per_member_and_ignores_days_before_a_member_existed():
    days = [DayDemand("A", END - timedelta(days=k), 4.0) for k in range(28)]
    days += [DayDemand("B", END - timedelta(days=k), 8.0) for k in range(10)]  # B launched 10 days ago
    spans = {"A": (END - timedelta(days=90), END), "B": (END - timedelta(days=9), END)}
    profile = borrowed_profile(days, ["A", "B", "C"], spans, END + timedelta(days=1))
    assert np.allclose(profile, 6.0)  # (4 + 8) / 2, B's pre-launch days unknown, C has no history


def test_no_profile_from_a_source_with_too_few_observed_days():
    days = [DayDemand("OLD", END - timedelta(days=k), 5.0) for k in range(3)]
    assert borrowed_profile(days, ["OLD"], {"OLD": (END - timedelta(days=2), END)}, END) is None


def test_round_is_split_one_chunk_per_worker_but_never_below_the_minimum():
    assert [len(c) for c in split_round(list(range(5000)), 2, 500)] == [2500, 2500]
    assert [len(c) for c in split_round(list(range(700)), 4, 500)] == [700]
    assert [len(c) for c in split_round(list(range(1001)), 2, 500)] == [501, 500]
    assert split_round([], 2, 500) == []


def test_extra_quantiles_setting_is_parsed_and_validated():
    assert ForecastSettings(quantiles="0.98, 0.95").extra_quantiles == (0.95, 0.98)
    assert ForecastSettings().extra_quantiles == ()
    with pytest.raises(ValueError):
        ForecastSettings(quantiles="0.95,1.5")
