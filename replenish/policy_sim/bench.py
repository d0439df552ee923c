"""Speed benchmarks of the policy: bulk recompute, per-decision latency, a 1,000-SKU two-year simulation.
Run: python -m replenish.policy_sim.bench"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import numpy as np

from services.policy.domain.alerts import evaluate_alerts
from services.policy.domain.bulk import bulk_order_quantities, bulk_positions
from services.policy.domain.model import DemandView, PolicyParams, Stock
from services.policy.domain.position import compute_position
from services.policy.domain.reorder import decide_reorder

from .data import DemandTable
from .engine import SimConfig
from .policies import PolicySetup
from .run import benchmark


def bulk_recompute(n: int = 100_000, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    pos = bulk_positions(rng.gamma(2, 20, n), rng.gamma(1, 10, n), np.zeros(n), rng.gamma(2, 3, n),
                         rng.gamma(2, 2, n), rng.integers(2, 15, n).astype(float),
                         lead_time_std_days=rng.uniform(0, 2, n), service_level=0.95, fill_rate=True)
    bulk_order_quantities(pos, 10, 6)
    return time.perf_counter() - start


def decision_latency(n: int = 2_000, seed: int = 2, clock=time.perf_counter) -> tuple[float, float]:
    """p50 and p99 seconds of position + reorder + alerts for one event (wall clock by default;
    `clock=time.thread_time` measures CPU only, i.e. without waiting for a core on a shared machine)."""
    rng = np.random.default_rng(seed)
    params = PolicyParams(lead_time_days=7, lead_time_std_days=2, service_metric="fill", moq=12, pack_size=6)
    as_of = datetime(2026, 11, 22, tzinfo=UTC)
    times = []
    for _ in range(n):
        t0 = clock()
        demand = DemandView(float(rng.gamma(2, 5)), float(rng.gamma(2, 2)), "forecast:bench",
                            rng.gamma(2, 5, 28))
        pos = compute_position("SKU", "LOC", Stock(float(rng.gamma(2, 30)), float(rng.gamma(1, 20))),
                               demand, params, as_of)
        decide_reorder(pos, params, date(2026, 11, 22), "sup")
        evaluate_alerts(pos, {}, unit_cost=2.0)
        times.append(clock() - t0)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def synthetic_table(skus: int = 1_000, days: int = 365 * 3, seed: int = 3) -> DemandTable:
    rng = np.random.default_rng(seed)
    level = rng.gamma(1.2, 4, skus)
    weekly = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(days) % 7) / 7)[:, None]
    promo = rng.random((days, skus)) < 0.1
    mean = level * weekly * np.where(promo, 2.0, 1.0)
    demand = rng.negative_binomial(2, 2 / (2 + mean)).astype(float)
    return DemandTable(date(2022, 1, 1), tuple(f"S{i}" for i in range(skus)), demand, promo)


def simulation(skus: int = 1_000, years: int = 2) -> float:
    table = synthetic_table(skus, 365 * (years + 1))
    start = time.perf_counter()
    benchmark(table, SimConfig(lead_time=7, lead_time_std=2), PolicySetup(), 365 * years)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """`replenish bench policy` (docs/bench-policy.md); no arguments."""
    print(f"bulk recompute 100,000 SKU-locations: {bulk_recompute():.2f} s")
    p50, p99 = decision_latency()
    print(f"per decision (position + reorder + alerts): p50 {1000 * p50:.2f} ms, p99 {1000 * p99:.2f} ms")
    c50, c99 = decision_latency(clock=time.thread_time)
    print(f"per decision, CPU time only: p50 {1000 * c50:.2f} ms, p99 {1000 * c99:.2f} ms")
    print(f"simulate 1,000 SKUs × 2 years (policy + baseline bisection): {simulation():.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
