"""Pure parts of the policy service: per-location ABC in the segmenter, the scalar loss inverse, settings."""
from __future__ import annotations

import numpy as np
import pytest

from services.policy.domain.formulas import inverse_normal_loss
from services.policy.segmenter import classify
from services.policy.settings import PolicySettings


def test_abc_is_ranked_within_each_location():
    keys = [("s1", "a"), ("s1", "b"), ("s2", "a"), ("s2", "b")]
    days = np.array([[90.0, 10.0, 1.0, 1.0]] * 7)  # s2 sells little but still has its own A item
    rows = classify(keys, days, np.ones(4), (0.80, 0.95))
    # s1: a is 90 % of value → A, b starts at 90 % → B; s2: first of two equal → A, second starts at 50 % → A
    assert [r["abc"] for r in rows] == ["A", "B", "A", "A"]
    assert rows[0]["annual_value"] == pytest.approx(90 * 365)


def test_steady_series_is_x_and_smooth_sparse_one_is_z_and_lumpy():
    steady = np.full(28, 5.0)
    sparse = np.zeros(28)
    sparse[[3, 17]] = [40.0, 2.0]
    rows = classify([("s", "steady"), ("s", "sparse")], np.column_stack([steady, sparse]), np.ones(2),
                    (0.8, 0.95))
    assert (rows[0]["xyz"], rows[0]["pattern"]) == ("X", "smooth")
    # ADI = 28/2 = 14 ≥ 1.32; sizes 40 and 2: mean 21, var 361 → CV² ≈ 0.82 ≥ 0.49 → lumpy
    assert (rows[1]["xyz"], rows[1]["pattern"]) == ("Z", "lumpy")


@pytest.mark.parametrize("target, k", [(0.3989422804, 0.0), (0.0833, 1.0), (0.008491, 2.0)])
def test_scalar_inverse_loss_matches_table_values(target, k):
    # G(0) = φ(0) = 0.39894; G(1) = 0.08332; G(2) = 0.00849 (standard normal loss table)
    assert float(inverse_normal_loss(target)) == pytest.approx(k, abs=2e-3)
    assert float(inverse_normal_loss(target)) == pytest.approx(float(inverse_normal_loss(np.array([target]))[0]))


def test_segment_service_levels_come_from_settings():
    cfg = PolicySettings(service_level_a=0.99, service_level_c=0.85, xyz_adjust_z=-0.02)
    defaults = cfg.segment_defaults()
    assert defaults.service_level("A", "X") == 0.99
    assert defaults.service_level("C", "Z") == pytest.approx(0.83)
