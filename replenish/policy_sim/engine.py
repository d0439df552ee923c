"""Day-by-day inventory simulation with lost sales, vectorized over SKUs, and its metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from services.policy.domain.formulas import round_lot

# levels(day index) -> (reorder_point, order_up_to), arrays over SKUs
LevelFn = Callable[[int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SimConfig:
    lead_time: float = 7.0
    lead_time_std: float = 0.0
    review_days: int = 7
    moq: float = 0.0
    pack: float = 1.0
    seed: int = 7


@dataclass
class SimResult:
    """Totals of one run; per-SKU arrays kept for per-class reporting."""

    demand: np.ndarray
    served: np.ndarray
    on_hand_sum: np.ndarray
    stockout_days: np.ndarray
    cycles: np.ndarray
    cycles_ok: np.ndarray
    orders: np.ndarray
    days: int
    extra: dict = field(default_factory=dict)

    def summary(self, mask: np.ndarray | None = None) -> dict[str, float]:
        m = slice(None) if mask is None else mask
        demand, served = self.demand[m].sum(), self.served[m].sum()
        avg_on_hand = self.on_hand_sum[m].sum() / self.days
        return {
            "skus": int(np.size(self.demand[m])),
            "fill_rate": float(served / demand) if demand > 0 else 1.0,
            "cycle_service_level": float(self.cycles_ok[m].sum() / max(self.cycles[m].sum(), 1)),
            "stockout_days": int(self.stockout_days[m].sum()),
            "avg_on_hand": float(avg_on_hand),
            "turns": float(served * 365.0 / self.days / avg_on_hand) if avg_on_hand > 0 else 0.0,
            "orders": int(self.orders[m].sum()),
        }


def _lead_times(rng: np.random.Generator, cfg: SimConfig, n: int) -> np.ndarray:
    if cfg.lead_time_std <= 0:
        return np.full(n, max(round(cfg.lead_time), 1))
    return np.maximum(np.rint(rng.normal(cfg.lead_time, cfg.lead_time_std, n)), 1).astype(int)


def simulate_levels(demand: np.ndarray, start: int, levels: LevelFn, cfg: SimConfig,
                    check_every: int = 1) -> SimResult:
    """Simulate days [start, end): arrivals, then a check (order when IP ≤ s, up to S), then demand."""
    days, n = demand.shape[0] - start, demand.shape[1]
    rng = np.random.default_rng(cfg.seed)
    pipeline = np.zeros((days + int(cfg.lead_time + 6 * cfg.lead_time_std) + 2, n))
    on_hand = levels(start)[1].copy()  # opening stock = S
    on_order = np.zeros(n)
    acc = {k: np.zeros(n) for k in ("served", "on_hand", "stockout", "cycles", "ok", "orders")}
    short_in_cycle = np.zeros(n, dtype=bool)
    for i in range(days):
        on_hand += pipeline[i]
        on_order -= pipeline[i]
        if i % check_every == 0:
            s, up_to = levels(start + i)
            position = on_hand + on_order
            qty = np.where(position <= s, round_lot(up_to - position, cfg.moq, cfg.pack), 0.0)
            placed = qty > 0
            lt = _lead_times(rng, cfg, n)
            idx = np.flatnonzero(placed)
            pipeline[np.minimum(i + lt[idx], pipeline.shape[0] - 1), idx] += qty[idx]
            on_order += qty
            acc["orders"] += placed
            # a replenishment cycle ends when a new order is placed: was it free of stockouts?
            acc["cycles"] += placed
            acc["ok"] += placed & ~short_in_cycle
            short_in_cycle &= ~placed
        want = demand[start + i]
        served = np.minimum(on_hand, want)
        on_hand -= served
        short = want - served > 1e-9
        short_in_cycle |= short
        acc["served"] += served
        acc["stockout"] += short
        acc["on_hand"] += on_hand
    return SimResult(demand[start:].sum(axis=0), acc["served"], acc["on_hand"], acc["stockout"],
                     acc["cycles"], acc["ok"], acc["orders"], days)
