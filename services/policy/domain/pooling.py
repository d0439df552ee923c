"""One safety factor per location and fill-rate target: the location's keys together reach the target with the
least safety stock, and no key falls more than a set gap below it.

A fill rate is a ratio of units, so what a store or warehouse serves is its keys' units together. Meeting β on
every key alone spends the most safety stock where it buys the least fill: a promotion-driven or lumpy item whose
protection-period σ dwarfs its cycle quantity. The least total safety stock for a total expected shortage
Σσᵢ·G(kᵢ) = (1 − β)·ΣQᵢ has the same k for every key (equal fill gained per unit of stock), so a location's
members share k = G⁻¹((1 − β)·ΣQ / Σσ); each key then uses max(k, its own k at β − gap), the gap keeping slow and
lumpy keys from being starved for the aggregate. Members: keys with a forecast and a fill-rate target set by the
normal formula from the review period's cycle (no planner min/max or safety days, no forced order, no EOQ, not
do-not-stock); the others keep their own formula.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .formulas import normal_loss
from .model import DemandView, PolicyParams

PoolKey = tuple[float, bool]  # (fill-rate target, lost sales)
K_LOW, K_HIGH = -4.0, 8.0  # the shared factor's range: below −4 nothing is held, above 8 the target is unreachable
K_DECIMALS = 6  # the shared factor is rounded so summing in another order or on arrays cannot change a decision


@dataclass(frozen=True)
class SharedFactor:
    """A pool's common safety factor and the gap below its target that a key's own fill may not cross."""

    k: float
    floor_gap: float


Factors = dict[str, dict[PoolKey, SharedFactor]]  # by location, by pool


def _solve(sigma: np.ndarray, floor: np.ndarray, budget: float) -> float:
    """The least k in [K_LOW, K_HIGH] with Σσ·G(max(k, f)) ≤ budget (K_HIGH when none reaches it), by bisection."""
    def short(k: float) -> float:
        return math.fsum(sigma * normal_loss(np.maximum(k, floor)))

    lo, hi = K_LOW, K_HIGH
    if short(lo) <= budget:
        return lo
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if short(mid) > budget else (lo, mid)
    return hi


def pool_of(params: PolicyParams, demand: DemandView) -> PoolKey | None:
    """The pool a key's targets join, or None when its levels are set another way."""
    if (params.service_metric != "fill" or params.distribution != "normal" or params.do_not_stock
            or params.force_reorder or params.safety_days is not None or params.min_level is not None
            or params.max_level is not None or not demand.source.startswith("forecast:")
            or None not in (params.fixed_order_cost, params.holding_rate, params.unit_cost)):
        return None
    return round(float(params.service_level), K_DECIMALS), bool(params.lost_sales)


def shared_factors(members: Iterable[tuple[PoolKey, float, float, float]], floor_gap: float
                   ) -> dict[PoolKey, SharedFactor]:
    """Per pool, k with Σσ·G(max(k, f)) = (1 − β')·ΣQ over its members' (pool, protection σ, cycle quantity, floor
    factor f); β' is the lost-sales β when unmet demand is lost. Sums are exact (fsum), so the order of the keys
    never matters; k is found by bisection in [K_LOW, K_HIGH]."""
    rows: dict[PoolKey, list[tuple[float, float, float]]] = {}
    for pool, s, q, f in members:
        if math.isfinite(s) and math.isfinite(q) and s >= 0 and q >= 0:
            rows.setdefault(pool, []).append((s, q, f if math.isfinite(f) else K_LOW))
    out = {}
    for pool, terms in rows.items():
        sigma = np.array([t[0] for t in terms])
        floor = np.array([t[2] for t in terms])
        if math.fsum(sigma) <= 0:
            continue
        beta = pool[0] if not pool[1] else 2.0 - 1.0 / max(pool[0], 1e-6)
        budget = max(1.0 - beta, 0.0) * math.fsum(t[1] for t in terms)

        out[pool] = SharedFactor(round(_solve(sigma, floor, budget), K_DECIMALS), floor_gap)
    return out
