"""The gamma protection-period demand for fill-rate targets: its loss function and the safety stock it gives."""
from __future__ import annotations

import numpy as np
from scipy import integrate, stats

from services.policy.domain.formulas import gamma_fill_safety, gamma_loss, inverse_normal_loss
from services.policy.domain.targets import compute_targets


def test_gamma_loss_is_the_expected_shortage_of_the_gamma_distribution():
    mean, sigma, s = 6.0, 5.0, 9.0
    dist = stats.gamma(a=(mean / sigma) ** 2, scale=sigma**2 / mean)
    expected, _ = integrate.quad(lambda x: (x - s) * dist.pdf(x), s, np.inf)
    assert abs(float(gamma_loss(s, mean, sigma)) - expected) < 1e-6


def test_safety_meets_the_fill_rate_and_grows_with_it():
    mean, sigma, q = 30.0, 25.0, 30.0
    ss = [float(gamma_fill_safety(b, q, mean, sigma)) for b in (0.90, 0.95, 0.99)]
    assert ss[0] < ss[1] < ss[2]
    lost = float(gamma_loss(mean + ss[1], mean, sigma))
    assert abs(lost - q * 0.05 / 0.95) < 1e-3 * q  # lost sales: β = Q / (Q + short)


def test_a_nearly_symmetric_demand_gives_about_the_normal_safety_stock():
    mean, sigma, q = 700.0, 40.0, 50.0
    normal = float(inverse_normal_loss(0.05 * q / sigma)) * sigma
    gamma = float(gamma_fill_safety(0.95, q, mean, sigma, lost_sales=False))
    assert abs(gamma - normal) < 0.1 * sigma


def test_auto_uses_the_gamma_only_for_dispersed_demand():
    smooth = compute_targets(10.0, 2.0, 7, fill_rate=True, service_level=0.95, distribution="auto")
    lumpy = compute_targets(1.0, 4.0, 7, fill_rate=True, service_level=0.95, distribution="auto")
    normal_lumpy = compute_targets(1.0, 4.0, 7, fill_rate=True, service_level=0.95, distribution="normal")
    plain = compute_targets(10.0, 2.0, 7, fill_rate=True, service_level=0.95)
    assert np.isclose(smooth.safety_stock, plain.safety_stock)
    assert lumpy.safety_stock > normal_lumpy.safety_stock  # the skewed tail needs more
