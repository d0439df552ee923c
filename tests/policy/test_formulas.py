"""Policy math against hand-computed values, and against numerical oracles from scipy (integration,
minimisation) that share no formula with the closed forms under test."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from services.policy.domain.formulas import (
    empirical_loss,
    eoq,
    inverse_normal_loss,
    normal_loss,
    portfolio_fill_k,
    portfolio_fill_k_empirical,
    protection_sigma,
    round_lot,
    safety_stock,
    z_for_cycle_service,
    z_for_fill_rate,
)
from services.policy.domain.targets import compute_targets


def integrated_loss(k: float) -> float:
    """G(k) = E[(Z - k)+] by numerical integration of its definition, not by the closed form."""
    value, _ = integrate.quad(lambda z: (z - k) * stats.norm.pdf(z), k, np.inf, epsabs=1e-13, epsrel=1e-12)
    return value


@pytest.mark.parametrize("k", [-2.0, -0.5, 0.0, 0.9, 1.645, 2.5])
def test_normal_loss_matches_its_integral(k):
    assert normal_loss(k) == pytest.approx(integrated_loss(k), rel=1e-8)


@pytest.mark.parametrize("k", [-1.0, 0.3, 1.2, 2.8])
def test_inverse_loss_round_trips(k):
    assert inverse_normal_loss(integrated_loss(k)) == pytest.approx(k, abs=1e-7)


def test_z_for_95_percent_cycle_service_is_1_645():
    assert z_for_cycle_service(0.95) == pytest.approx(1.6449, abs=1e-4)


def test_safety_stock_with_demand_and_lead_time_variability():
    # SS = 1.645·√(9·5² + 20²·2²) = 1.645·√1825 = 1.645·42.72 ≈ 70.27
    sigma = protection_sigma(9, 5, 20, 2)
    assert sigma == pytest.approx(math.sqrt(1825))
    assert safety_stock(z_for_cycle_service(0.95), sigma) == pytest.approx(70.27, abs=0.01)


def test_fill_rate_k_from_loss_function():
    # G(k) = (1 - 0.95)·100 / 50 = 0.1; table G(0.90) = 0.1004 and G' = -(1 - Φ(0.9)) = -0.184,
    # so k ≈ 0.90 + 0.0004 / 0.184 ≈ 0.9022
    k = z_for_fill_rate(0.95, 100, 50)
    assert k == pytest.approx(0.9022, abs=5e-4)
    assert integrated_loss(k) == pytest.approx(0.1, abs=1e-9)


def test_portfolio_k_meets_aggregate_shortage():
    sigma = np.array([10.0, 30.0])
    q = np.array([50.0, 150.0])
    k = portfolio_fill_k(0.95, q, sigma)
    # Σσ·G(k) = 40·G(k) must equal 0.05·200 = 10 → G(k) = 0.25 → k ≈ 0.3449
    assert 40 * normal_loss(k) == pytest.approx(10.0, abs=1e-9)
    assert k == pytest.approx(0.3449, abs=1e-3)


def test_eoq_minimises_ordering_plus_holding_cost():
    # √(2·50·1200 / 2.4) = √50000 ≈ 223.6
    assert eoq(50, 2.4, 1200) == pytest.approx(223.607, abs=1e-3)
    # EOQ's definition: the Q that minimises K·D/Q + h·Q/2 per year, found here by a numerical search
    best = optimize.minimize_scalar(lambda q: 50 * 1200 / q + 2.4 * q / 2, bounds=(1, 10_000), method="bounded",
                                    options={"xatol": 1e-8})
    assert eoq(50, 2.4, 1200) == pytest.approx(best.x, rel=1e-6)


@pytest.mark.parametrize(
    ("qty", "moq", "pack", "cap", "expected"),
    [(0, 10, 6, None, 0), (3, 10, 6, None, 12), (13, 10, 6, None, 18), (100, 10, 6, 50, 48),
     (24, 0, 12, None, 24), (24 + 1e-12, 0, 12, None, 24)],
)
def test_round_lot_applies_moq_pack_and_cap(qty, moq, pack, cap, expected):
    assert float(round_lot(qty, moq, pack, cap)) == expected


def test_periodic_order_up_to_covers_lead_time_plus_review():
    # D=10, σ=4, L=7, R=7: S = 10·14 + 1.645·4·√14 = 140 + 24.62
    t = compute_targets(10.0, 4.0, 7.0, review_days=7, periodic=True, service_level=0.95)
    assert float(t.order_up_to) == pytest.approx(140 + 1.6449 * 4 * math.sqrt(14), abs=0.01)


def test_continuous_levels_add_cycle_on_top_of_reorder_point():
    t = compute_targets(10.0, 0.0, 5.0, review_days=7, service_level=0.95)
    assert float(t.reorder_point) == pytest.approx(50.0)
    assert float(t.order_up_to) == pytest.approx(120.0)


def test_empirical_loss_of_two_point_sample():
    # samples -1 and 3, k = 1: mean((0, 2)) = 1
    assert float(empirical_loss(np.array([[-1.0], [3.0]]), 1.0)[0]) == pytest.approx(1.0)


def test_empirical_portfolio_k_matches_normal_for_normal_samples():
    z = np.random.default_rng(5).standard_normal((200_000, 1))
    k = portfolio_fill_k_empirical(0.95, [100.0], [50.0], z)
    assert k == pytest.approx(0.9022, abs=0.02)
