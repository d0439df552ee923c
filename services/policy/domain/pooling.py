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

from .formulas import inverse_normal_loss
from .model import DemandView, PolicyParams

PoolKey = tuple[float, bool]  # (fill-rate target, lost sales)
K_DECIMALS = 6  # the shared factor is rounded so summing in another order or on arrays cannot change a decision


@dataclass(frozen=True)
class SharedFactor:
    """A pool's common safety factor and the gap below its target that a key's own fill may not cross."""

    k: float
    floor_gap: float


Factors = dict[str, dict[PoolKey, SharedFactor]]  # by location, by pool


def pool_of(params: PolicyParams, demand: DemandView) -> PoolKey | None:
    """The pool a key's targets join, or None when its levels are set another way."""
    if (params.service_metric != "fill" or params.distribution != "normal" or params.do_not_stock
            or params.force_reorder or params.safety_days is not None or params.min_level is not None
            or params.max_level is not None or not demand.source.startswith("forecast:")
            or None not in (params.fixed_order_cost, params.holding_rate, params.unit_cost)):
        return None
    return round(float(params.service_level), K_DECIMALS), bool(params.lost_sales)


def shared_factors(members: Iterable[tuple[PoolKey, float, float]], floor_gap: float) -> dict[PoolKey, SharedFactor]:
    """Per pool, k with Σσ·G(k) = (1 − β')·ΣQ over its members' (pool, protection σ, cycle quantity); β' is the
    lost-sales β when unmet demand is lost. Sums are exact (fsum), so the order of the keys never matters."""
    sigma: dict[PoolKey, list[float]] = {}
    cycle: dict[PoolKey, list[float]] = {}
    for pool, s, q in members:
        if math.isfinite(s) and math.isfinite(q):
            sigma.setdefault(pool, []).append(s)
            cycle.setdefault(pool, []).append(q)
    out = {}
    for pool, sigmas in sigma.items():
        total = math.fsum(sigmas)
        if total <= 0:
            continue
        beta = pool[0] if not pool[1] else 2.0 - 1.0 / max(pool[0], 1e-6)
        k = float(inverse_normal_loss(max(1.0 - beta, 0.0) * math.fsum(cycle[pool]) / total))
        out[pool] = SharedFactor(round(k, K_DECIMALS), floor_gap)
    return out
