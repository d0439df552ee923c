"""The two policies the simulator compares: forecast-driven levels from the domain code, and a static
Odoo-style min/max found by bisection on its scale factor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.policy.domain.formulas import portfolio_fill_k, portfolio_fill_k_empirical
from services.policy.domain.targets import compute_targets

from .engine import LevelFn, SimConfig, SimResult, simulate_levels
from .forecaster import Forecasts


@dataclass(frozen=True)
class PolicySetup:
    target_fill: float = 0.95
    periodic: bool = True
    portfolio: bool = True  # one k for all SKUs to meet the aggregate fill rate at least stock
    empirical: bool = False  # loss function of past standardized errors instead of the normal's
    error_window: int = 365
    k_offset: float = 0.0  # added to the portfolio k; set by calibration on the year before the test year
    calibrate: bool = False


def forecast_levels(fc: Forecasts, cfg: SimConfig, setup: PolicySetup) -> LevelFn:
    """Levels from the domain's compute_targets, fed by the forecast known at each day."""
    horizon = fc.horizon

    def levels(t: int) -> tuple[np.ndarray, np.ndarray]:
        daily = fc.mean[t] / horizon
        daily_std = fc.sigma[t] / np.sqrt(horizon)
        common = dict(lead_time_std_days=cfg.lead_time_std, review_days=cfg.review_days,
                      periodic=setup.periodic, service_level=setup.target_fill, fill_rate=True,
                      protection_mean=fc.mean[t])
        k = None
        if setup.portfolio:
            probe = compute_targets(daily, daily_std, cfg.lead_time, **common)
            if setup.empirical:
                k = portfolio_fill_k_empirical(setup.target_fill, probe.cycle_qty, probe.protection_sigma,
                                               fc.standardized_errors(t, setup.error_window))
            else:
                k = portfolio_fill_k(setup.target_fill, probe.cycle_qty, probe.protection_sigma)
            k += setup.k_offset
        t_ = compute_targets(daily, daily_std, cfg.lead_time, k=k, **common)
        if setup.periodic:
            return t_.order_up_to - 1e-9, t_.order_up_to
        return t_.reorder_point, t_.order_up_to

    return levels


def minmax_levels(mean_daily: np.ndarray, cfg: SimConfig, factor: float) -> LevelFn:
    """Static min = f·D̄·L, max = f·(D̄·L + D̄·R), D̄ the mean over the fitting history."""
    low = factor * mean_daily * cfg.lead_time
    high = factor * (mean_daily * cfg.lead_time + mean_daily * cfg.review_days)
    return lambda t: (low, high)


def run_minmax(demand: np.ndarray, start: int, cfg: SimConfig, factor: float, check_every: int) -> SimResult:
    mean_daily = demand[:start].mean(axis=0)
    return simulate_levels(demand, start, minmax_levels(mean_daily, cfg, factor), cfg, check_every)


def tune_minmax(demand: np.ndarray, start: int, cfg: SimConfig, fill: float, check_every: int = 1,
                steps: int = 30) -> tuple[float, SimResult]:
    """Bisection on the scale factor until the baseline reaches `fill` (with hindsight, on purpose)."""
    lo, hi = 0.0, 1.0
    while run_minmax(demand, start, cfg, hi, check_every).summary()["fill_rate"] < fill and hi < 64:
        lo, hi = hi, hi * 2
    for _ in range(steps):
        mid = (lo + hi) / 2
        if run_minmax(demand, start, cfg, mid, check_every).summary()["fill_rate"] < fill:
            lo = mid
        else:
            hi = mid
    return hi, run_minmax(demand, start, cfg, hi, check_every)
