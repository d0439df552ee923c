"""One benchmark run: forecast-driven policy vs a hindsight-tuned static min/max, overall and per class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from services.policy.domain.segmentation import abc_classes, demand_pattern

from .data import DemandTable
from .engine import SimConfig, simulate_levels
from .forecaster import fit_forecasts
from .policies import PolicySetup, forecast_levels, tune_minmax


def _per_class(table: DemandTable, start: int, policy, baseline) -> dict[str, dict]:
    fit = table.demand[:start]
    classes = {"abc": abc_classes(fit.sum(axis=0)), "pattern": demand_pattern(fit)}
    out = {}
    for kind, labels in classes.items():
        for label in sorted(set(labels.tolist())):
            mask = labels == label
            p, b = policy.summary(mask), baseline.summary(mask)
            gain = 1 - p["avg_on_hand"] / b["avg_on_hand"] if b["avg_on_hand"] > 0 else 0.0
            out[f"{kind}:{label}"] = {"policy": p, "baseline": b, "on_hand_reduction": gain}
    return out


def calibrate_k_offset(table: DemandTable, cfg: SimConfig, setup: PolicySetup, start: int, horizon: int,
                      days: int = 365, steps: int = 14) -> tuple[float, float]:
    """k offset that makes the policy hit the target fill rate on the `days` before `start`, fitted only
    on what came before those days (no look-ahead into the test year); returns (offset, fill reached)."""
    cal_start = start - days
    fc = fit_forecasts(table.demand[:start], table.promo[:start] if table.promo is not None else None,
                       table.weekdays()[:start], cal_start, horizon)
    check = cfg.review_days if setup.periodic else 1

    def fill(offset: float) -> float:
        levels = forecast_levels(fc, cfg, replace(setup, k_offset=offset))
        return simulate_levels(table.demand[:start], cal_start, levels, cfg, check).summary()["fill_rate"]

    lo, hi = -1.5, 1.5
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fill(mid) < setup.target_fill else (lo, mid)
    return hi, fill(hi)


def benchmark(table: DemandTable, cfg: SimConfig, setup: PolicySetup, test_days: int,
              progress: Callable[[str], None] | None = None) -> dict:
    """Simulate the last `test_days` days; everything the policy uses is fitted on earlier days."""
    note = progress or (lambda _msg: None)
    start = table.days - test_days
    horizon = round(cfg.lead_time + (cfg.review_days if setup.periodic else 0))
    calibration = None
    if setup.calibrate:
        note("calibrating k on the year before")
        offset, reached = calibrate_k_offset(table, cfg, setup, start, horizon)
        setup, calibration = replace(setup, k_offset=offset), {"k_offset": offset, "calibration_fill": reached}
    note("forecasting")
    fc = fit_forecasts(table.demand, table.promo, table.weekdays(), start, horizon)
    note("simulating policy")
    check = cfg.review_days if setup.periodic else 1
    policy = simulate_levels(table.demand, start, forecast_levels(fc, cfg, setup), cfg, check)
    achieved = policy.summary()["fill_rate"]
    note("tuning min/max baseline")
    # the baseline is checked every day, as an ERP scheduler does: the harder comparison
    factor, baseline = tune_minmax(table.demand, start, cfg, achieved, check_every=1)
    p, b = policy.summary(), baseline.summary()
    return {
        "config": {"lead_time": cfg.lead_time, "lead_time_std": cfg.lead_time_std,
                   "review_days": cfg.review_days, "moq": cfg.moq, "pack": cfg.pack,
                   "target_fill": setup.target_fill, "test_days": test_days, "skus": len(table.skus),
                   "policy": "periodic (R,S)" if setup.periodic else "continuous (s,S)"},
        "policy": p, "baseline": b | {"scale_factor": factor}, "calibration": calibration,
        "fill_error_pp": 100 * (p["fill_rate"] - setup.target_fill),
        "on_hand_reduction": 1 - p["avg_on_hand"] / b["avg_on_hand"] if b["avg_on_hand"] > 0 else 0.0,
        "per_class": _per_class(table, start, policy, baseline),
        "mean_demand_check": float(np.mean(table.demand[start:])),
    }
