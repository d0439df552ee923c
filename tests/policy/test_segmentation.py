"""Segmentation: ABC by value, XYZ by variability, demand patterns, per-class defaults."""

import numpy as np
import pytest

from services.policy.domain.segmentation import SegmentDefaults, abc_classes, demand_pattern, xyz_classes


def test_abc_by_cumulative_value_share():
    # largest first: 70 % (0 % before → A), 15 % (70 % before, crosses 80 % → A), 10 % (85 % → B),
    # 5 % (95 % → C)
    assert abc_classes([15, 70, 5, 10]).tolist() == ["A", "A", "C", "B"]


def test_xyz_by_coefficient_of_variation():
    days = np.array([[10, 10, 0], [10, 12, 0], [10, 8, 30], [10, 10, 0]], dtype=float)
    assert xyz_classes(days).tolist() == ["X", "X", "Z"]


def test_demand_pattern_separates_intermittent_from_smooth():
    smooth = np.full(20, 5.0)
    sparse = np.zeros(20)
    sparse[::5] = 4.0
    assert demand_pattern(np.stack([smooth, sparse], axis=1)).tolist() == ["smooth", "intermittent"]


def test_default_service_levels_per_class_are_configurable():
    defaults = SegmentDefaults(service_levels={"A": 0.99, "B": 0.95, "C": 0.85}, xyz_adjust={"Z": -0.05})
    assert defaults.service_level("A") == 0.99
    assert defaults.service_level("C", "Z") == pytest.approx(0.80)
    assert SegmentDefaults().service_level("B") == 0.95
