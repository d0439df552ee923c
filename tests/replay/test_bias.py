"""Censoring bias (bias.py): what policy planned with against the true demand of the same protection periods."""
from __future__ import annotations

import numpy as np
import pytest

from replenish.replay.bias import by_class, period_sums


def test_planning_the_true_mean_has_no_bias_and_half_of_it_minus_half():
    demand = np.tile(np.array([[4.0, 0.0, 8.0, 4.0]]), (2, 10))  # 2 keys × 40 days, mean 4
    periods = np.full(demand.shape, 4.0)
    exact, true = period_sums(np.full(demand.shape, 4.0), periods, demand)
    assert exact == pytest.approx(true)
    half, _ = period_sums(np.full(demand.shape, 2.0), periods, demand)
    out = by_class([("A", "s"), ("B", "s")], half, true, {"pattern": {("A", "s"): "smooth", ("B", "s"): "lumpy"}})
    assert out["all"]["bias"] == pytest.approx(-0.5) and out["pattern"]["lumpy"]["bias"] == pytest.approx(-0.5)
    assert out["all"]["judged"] is False  # two series: shown with an interval, not held to a target


def test_days_whose_period_runs_past_the_window_or_were_not_judged_are_left_out():
    demand = np.array([[1.0, 1.0, 1.0, 100.0]])
    used = np.array([[1.0, np.nan, 1.0, 1.0]])
    planned, true = period_sums(used, np.full((1, 4), 1.0), demand)
    # day 0 → day 1 (1.0), day 1 not judged, day 2 → day 3 (100.0); day 3's period is past the window
    assert planned[0] == pytest.approx(2.0) and true[0] == pytest.approx(101.0)
