"""Calibrating the simulator's k on the year before the test year (no look-ahead into the test year)."""
from datetime import date

import numpy as np

from replenish.policy_sim.data import DemandTable
from replenish.policy_sim.engine import SimConfig
from replenish.policy_sim.policies import PolicySetup
from replenish.policy_sim.run import calibrate_k_offset


def _table(days: int = 3 * 365, skus: int = 6, seed: int = 7) -> DemandTable:
    rng = np.random.default_rng(seed)
    demand = rng.negative_binomial(2, 0.2, (days, skus)).astype(float)  # mean 8, skewed
    return DemandTable(date(2020, 1, 1), tuple(f"S{i}" for i in range(skus)), demand, None)


def test_calibrated_offset_reaches_target_on_the_calibration_year():
    table, cfg = _table(), SimConfig(lead_time=7, review_days=7)
    setup = PolicySetup(target_fill=0.95)
    offset, reached = calibrate_k_offset(table, cfg, setup, start=table.days - 365, horizon=14, steps=10)
    # bisection over [-1.5, 1.5] in 10 steps: the fill at the returned (upper) end is at or above target,
    # and within a small step of it
    assert reached >= 0.95 and reached < 0.965
    assert -1.5 < offset < 1.5


def test_calibration_ignores_the_test_year():
    table = _table()
    changed = DemandTable(table.start, table.skus, table.demand.copy(), None)
    changed.demand[-365:] *= 5  # the test year only
    cfg, setup = SimConfig(lead_time=7, review_days=7), PolicySetup(target_fill=0.95)
    start = table.days - 365
    assert calibrate_k_offset(table, cfg, setup, start, 14, steps=6) == \
        calibrate_k_offset(changed, cfg, setup, start, 14, steps=6)
