"""Compute one SKU-location's position: levels, days of cover, projected stockout, status, explanation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np

from .assemble import MAX_DAILY
from .explain import explain_position
from .model import DemandView, PolicyParams, Position, Status, Stock
from .pooling import K_LOW, PoolKey, SharedFactor, pool_of
from .targets import Targets, compute_targets, economic_cycle

PROJECTION_DAYS = 366


def protection_mean(demand: DemandView, days: float) -> float:
    """Expected demand over the next `days`, from the forecast horizon where it reaches."""
    if demand.horizon_means is None or len(demand.horizon_means) == 0:
        return demand.daily_mean * days
    days = max(float(days), 0.0)  # a protection period is never negative (it once indexed the path from its end)
    path = _daily_path(demand, math.ceil(days))
    whole = math.floor(days)
    return float(path[:whole].sum() + (days - whole) * (path[whole] if whole < len(path) else 0.0))


def _daily_path(demand: DemandView, n: int) -> np.ndarray:
    horizon = np.asarray(demand.horizon_means if demand.horizon_means is not None else [], dtype=float)[:n]
    return np.concatenate([horizon, np.full(max(n - len(horizon), 0), demand.daily_mean)])


def protection_days(params: PolicyParams) -> float:
    """T: the lead time, plus the review period under periodic review."""
    return params.lead_time_days + (params.review_days if params.review_mode == "periodic" else 0.0)


def spread_over_protection(demand: DemandView, params: PolicyParams) -> DemandView:
    """The demand view with σ_D for this protection period when the forecast tells promotion days' σ from the
    others': σ_D² = ((T − P)·σ_regular² + P·σ_promo²)/T over the P promotion days among the T. One σ for every
    day made a promotion-driven item hold its promotion's safety stock all year."""
    days = protection_days(params)
    if demand.regular_std is None or days <= 0:
        return demand
    regular = demand.regular_std
    promo = max(demand.daily_std if demand.promo_std is None else demand.promo_std, regular)
    lifted = min(promo_days(demand, days), days)
    std = math.sqrt(((days - lifted) * regular**2 + lifted * promo**2) / days)
    return replace(demand, daily_std=min(std, MAX_DAILY))


def promo_days(demand: DemandView, days: float) -> float:
    """Promotion days among the next `days` (the last partial day pro rata), as the horizon flags them."""
    if demand.horizon_promo is None:
        return 0.0
    flags = np.asarray(demand.horizon_promo, dtype=float)[: math.ceil(days)]
    whole = math.floor(days)
    return float(flags[:whole].sum() + (days - whole) * (flags[whole] if whole < len(flags) else 0.0))


def params_targets(demand: DemandView, params: PolicyParams, shared: SharedFactor | None = None) -> Targets:
    periodic = params.review_mode == "periodic"
    days = protection_days(params)
    cycle = economic_cycle(
        demand.daily_mean, params.review_days, params.fixed_order_cost, params.holding_rate, params.unit_cost
    )
    return compute_targets(
        demand.daily_mean,
        demand.daily_std,
        params.lead_time_days,
        lead_time_std_days=params.lead_time_std_days,
        review_days=params.review_days,
        periodic=periodic,
        service_level=params.service_level,
        fill_rate=params.service_metric == "fill",
        cycle_qty=cycle,
        protection_mean=protection_mean(demand, days),
        safety_days=params.safety_days,
        distribution=params.distribution,
        lost_sales=params.lost_sales,
        shared_k=None if shared is None else shared.k,
        floor_gap=0.0 if shared is None else shared.floor_gap,
        floor_std=demand.regular_std,  # a key's floor protects its ordinary days; a promotion's risk is pooled
    )


def pool_terms(demand: DemandView, params: PolicyParams, floor_gap: float) -> tuple[float, float, float]:
    """(protection σ, cycle quantity, floor factor) of a pooled key: its floor is the k it gets under a shared
    factor too low to matter."""
    targets = params_targets(demand, params, SharedFactor(K_LOW, floor_gap))
    floor = K_LOW if targets.floor is None else float(targets.floor)  # a fill-rate key always has one
    return float(targets.protection_sigma), float(targets.cycle_qty), floor


def levels(targets: Targets, params: PolicyParams) -> tuple[float, float, float]:
    """(safety_stock, reorder_point, order_up_to) after planner min/max and do-not-stock."""
    if params.do_not_stock:
        return 0.0, 0.0, 0.0
    ss, rop, up_to = float(targets.safety_stock), float(targets.reorder_point), float(targets.order_up_to)
    if params.min_level is not None:
        rop = float(params.min_level)
    if params.max_level is not None:
        up_to = float(params.max_level)
    return ss, rop, max(up_to, rop)


def projected_stockout(stock: Stock, demand: DemandView, as_of: date) -> date | None:
    """First day on which expected demand exhausts on-hand plus scheduled arrivals."""
    if stock.on_hand <= 0:
        return as_of
    if demand.daily_mean <= 0 and demand.horizon_means is None:
        return None
    arrivals = np.zeros(PROJECTION_DAYS)
    for day, qty in stock.arrivals:
        offset = (day - as_of).days
        if 0 <= offset < PROJECTION_DAYS:
            arrivals[offset] += qty
    left = stock.on_hand - stock.backorder + np.cumsum(arrivals - _daily_path(demand, PROJECTION_DAYS))
    hit = np.flatnonzero(left <= 0)
    return as_of + timedelta(days=int(hit[0])) if hit.size else None


def classify(stock: Stock, stockout_on: date | None, as_of: date, rop: float, up_to: float,
             demand: DemandView, params: PolicyParams) -> Status:
    """docs/contract.md §4 status, first match wins."""
    if stock.on_hand <= 0:
        return "stockout"
    if stockout_on is not None and stockout_on < as_of + timedelta(days=params.lead_time_days):
        return "critical"
    if stock.inventory_position <= rop:
        return "watch"
    if stock.inventory_position > up_to + params.overstock_days * demand.daily_mean:
        return "overstock"
    return "ok"


def compute_position(sku: str, location: str, stock: Stock, demand: DemandView, params: PolicyParams,
                     as_of: datetime, factors: Mapping[PoolKey, SharedFactor] | None = None) -> Position:
    """Position of docs/contract.md §4 with an explanation of every number. `factors`: the location's shared
    safety factors (pooling.py), by pool."""
    demand = spread_over_protection(demand, params)
    pool = pool_of(params, demand)
    shared = None if pool is None or factors is None else factors.get(pool)
    targets = params_targets(demand, params, shared)
    ss, rop, up_to = levels(targets, params)
    day = as_of.date()
    stockout_on = projected_stockout(stock, demand, day)
    # a demand too small to divide by has no meaningful cover (and must not make it infinite)
    cover = float(np.clip(stock.on_hand / demand.daily_mean, -1e9, 1e9)) if demand.daily_mean > 1e-9 else None
    status = classify(stock, stockout_on, day, rop, up_to, demand, params)
    return Position(
        sku=sku, location=location, on_hand=stock.on_hand, on_order=stock.on_order,
        backorder=stock.backorder, inventory_position=stock.inventory_position,
        daily_demand=demand.daily_mean, demand_std=demand.daily_std,
        lead_time_days=params.lead_time_days, lead_time_std_days=params.lead_time_std_days,
        service_level=params.service_level, safety_stock=ss, reorder_point=rop, order_up_to=up_to,
        days_of_cover=cover, projected_stockout_date=stockout_on, status=status, as_of=as_of,
        explanation=explain_position(stock, demand, params, targets, (ss, rop, up_to), status, pool, shared,
                                     None if targets.floor is None else float(targets.floor)),
    )
