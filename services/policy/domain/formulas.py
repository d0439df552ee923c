"""Inventory math on scalars or numpy arrays: z, loss function, safety stock, EOQ, lot sizing."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaincc, ndtr, ndtri

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def z_for_cycle_service(service_level):
    """Safety factor k with P(demand over the protection period ≤ mean + kσ) = service_level."""
    return ndtri(np.clip(service_level, 1e-6, 1 - 1e-6))


def normal_loss(k):
    """Standard normal loss G(k) = E[(Z - k)+] = φ(k) - k·(1 - Φ(k))."""
    k = np.asarray(k, dtype=float)
    return np.exp(-0.5 * k * k) / _SQRT_2PI - k * (1.0 - ndtr(k))


def _inverse_normal_loss_scalar(target: float) -> float:
    """Scalar Newton on math functions: one decision per event must not pay numpy's per-call overhead."""
    target = max(target, 1e-9)
    k = -target if target >= 1.0 / _SQRT_2PI else math.sqrt(max(-2.0 * math.log(target * _SQRT_2PI), 0.0))
    for _ in range(60):
        tail = 0.5 * math.erfc(k / math.sqrt(2.0))
        loss = math.exp(-0.5 * k * k) / _SQRT_2PI - k * tail
        step = (loss - target) / min(-tail, -1e-12)
        k = min(max(k - step, -10.0), 10.0)
        if abs(step) < 1e-10:
            break
    return k


def inverse_normal_loss(target):
    """k with G(k) = target, by Newton steps (G is convex and decreasing, so it converges)."""
    if np.ndim(target) == 0:
        return np.float64(_inverse_normal_loss_scalar(float(target)))
    target = np.clip(np.asarray(target, dtype=float), 1e-9, None)
    # start from the right side of the root so Newton approaches monotonically
    k = np.where(target >= normal_loss(0.0), -target, np.sqrt(np.maximum(-2 * np.log(target * _SQRT_2PI), 0)))
    for _ in range(60):
        slope = -(1.0 - ndtr(k))
        step = (normal_loss(k) - target) / np.minimum(slope, -1e-12)
        k = np.clip(k - step, -10.0, 10.0)
        if np.all(np.abs(step) < 1e-10):
            break
    return k


def z_for_fill_rate(fill_rate, cycle_demand, sigma_protection):
    """k that meets a fill rate β: expected short per cycle σ·G(k) = (1 - β)·Q, Q the cycle demand."""
    sigma = np.maximum(np.asarray(sigma_protection, dtype=float), 1e-12)
    return inverse_normal_loss((1.0 - np.asarray(fill_rate)) * np.asarray(cycle_demand) / sigma)


def portfolio_fill_k(fill_rate, cycle_qty, sigma_protection):
    """One k for many SKUs meeting an aggregate fill rate: Σσ·G(k) = (1 - β)·ΣQ. A common k is also
    what minimises total safety stock for that aggregate shortage (equal marginal fill per unit)."""
    sigma = float(np.sum(sigma_protection))
    if sigma <= 0:
        return 0.0
    return float(inverse_normal_loss((1.0 - fill_rate) * float(np.sum(cycle_qty)) / sigma))


def empirical_loss(z_samples, k):
    """Loss function of an empirical distribution: mean of (Z - k)+ over samples (rows) per column."""
    return np.mean(np.maximum(np.asarray(z_samples) - k, 0.0), axis=0)


def portfolio_fill_k_empirical(fill_rate, cycle_qty, sigma_protection, z_samples, lo=-3.0, hi=6.0):
    """Common k meeting Σσ·G_emp(k) = (1 - β)·ΣQ, with G_emp from past standardized forecast errors
    (one column per SKU): heavier right tails than the normal get more stock."""
    target = (1.0 - fill_rate) * float(np.sum(cycle_qty))
    sigma = np.asarray(sigma_protection, dtype=float)
    for _ in range(40):
        mid = (lo + hi) / 2
        if float(np.sum(sigma * empirical_loss(z_samples, mid))) > target:
            lo = mid
        else:
            hi = mid
    return hi


def protection_sigma(days, daily_std, daily_mean, lead_time_std):
    """σ of demand over `days` with demand and lead-time variability: √(T·σ_D² + D²·σ_L²)."""
    return np.sqrt(days * np.square(daily_std) + np.square(daily_mean) * np.square(lead_time_std))


def safety_stock(k, sigma):
    """Safety stock k·σ, never negative (a service level under 50 % does not sell stock short)."""
    return np.maximum(k * sigma, 0.0)


def eoq(fixed_order_cost, holding_cost_per_unit_year, annual_demand):
    """Economic order quantity √(2·K·D / h)."""
    h = np.maximum(holding_cost_per_unit_year, 1e-12)
    return np.sqrt(2.0 * fixed_order_cost * annual_demand / h)


def round_lot(qty, moq=0.0, pack_size=1.0, max_qty=None):
    """Order quantity after MOQ, pack multiple (rounded up) and a cap (rounded down to a pack)."""
    qty = np.maximum(np.asarray(qty, dtype=float), 0.0)
    pack = np.maximum(np.asarray(pack_size, dtype=float), 1e-9)
    lot = np.where(qty > 0, np.maximum(qty, moq), 0.0)
    lot = np.ceil(np.round(lot / pack, 9)) * pack
    if max_qty is not None:
        lot = np.minimum(lot, np.floor(np.round(np.asarray(max_qty) / pack, 9)) * pack)
    return lot


def gamma_loss(s, mean, sigma):
    """E[(X - s)+] for X ~ Gamma with the given mean and σ (shape μ²/σ², scale σ²/μ): the loss function of a
    right-skewed demand, where the normal's symmetric tail under-protects slow and lumpy items."""
    mean = np.maximum(np.asarray(mean, dtype=float), 1e-12)
    sigma = np.maximum(np.asarray(sigma, dtype=float), 1e-12)
    shape, scale = (mean / sigma) ** 2, sigma**2 / mean
    s = np.maximum(np.asarray(s, dtype=float), 0.0)
    return mean * gammaincc(shape + 1.0, s / scale) - s * gammaincc(shape, s / scale)


GAMMA_STEPS = 40  # halvings of [0, μ + 20σ + 1]: a millionth of a unit up to a million units, orders are whole units


def _gamma_fill_safety_scalar(fill_rate: float, cycle_qty: float, mean: float, sigma: float,
                              lost_sales: bool) -> float:
    """gamma_fill_safety for one key, the same bisection step for step on floats (gamma_loss's arithmetic)."""
    mean = max(mean, 0.0)
    beta = min(max(fill_rate, 1e-6), 1 - 1e-6)
    target = cycle_qty * (1.0 - beta) / (beta if lost_sales else 1.0)
    m, sd = max(mean, 1e-12), max(sigma, 1e-12)
    shape, scale = (m / sd) ** 2, sd**2 / m
    lo, hi = 0.0, mean + 20.0 * max(sigma, 1e-9) + 1.0
    for _ in range(GAMMA_STEPS):
        mid = (lo + hi) / 2
        at = max(mid, 0.0)
        if m * gammaincc(shape + 1.0, at / scale) - at * gammaincc(shape, at / scale) > target:
            lo = mid
        else:
            hi = mid
    return max(hi - mean, 0.0)


def gamma_fill_safety(fill_rate, cycle_qty, mean, sigma, *, lost_sales: bool = True):
    """Safety stock s - μ meeting a fill rate β with gamma-distributed demand over the protection period:
    E[(X - s)+] = (1 - β)·Q, or (1 - β)/β·Q under lost sales (β = Q / (Q + lost), Hadley–Whitin). Bisection
    on s in [0, μ + 20σ]; never below zero."""
    if all(np.ndim(x) == 0 for x in (fill_rate, cycle_qty, mean, sigma)):  # one decision: no array overhead
        return np.float64(_gamma_fill_safety_scalar(float(fill_rate), float(cycle_qty), float(mean), float(sigma),
                                                    lost_sales))
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    sigma = np.asarray(sigma, dtype=float)
    beta = np.clip(np.asarray(fill_rate, dtype=float), 1e-6, 1 - 1e-6)
    target = np.asarray(cycle_qty, dtype=float) * (1.0 - beta) / (beta if lost_sales else 1.0)
    lo, hi = np.zeros_like(mean + sigma), mean + 20.0 * np.maximum(sigma, 1e-9) + 1.0
    for _ in range(GAMMA_STEPS):
        mid = (lo + hi) / 2
        over = gamma_loss(mid, mean, sigma) > target
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return np.maximum(hi - mean, 0.0)
