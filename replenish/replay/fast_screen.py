"""`replenish simulate`'s screen: every key's forecast as arrays and a vectorized pre-pass over a day's keys.

`screen` is a vectorized pre-pass over every key of a day. It evaluates the same targets with the same domain
functions on arrays, and rules out keys whose inventory position is clearly above the reorder point (periodic
review: at or above the order-up-to level), with a margin far wider than any float difference between the array
and the scalar path; a promotion raises its target as `with_promotions` would once it is announced. Every
other key (below it, near it, with a forced order, planner safety days or EOQ costs, no forecast) is decided by
`decide_core`, and so is every key on every day when a rule depends on stock, demand or the date. The screen only
saves calls that cannot order.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from replenish.replay.fast_forecast import Forecast
from services.policy.domain.assemble import MAX_DAILY, usable_std
from services.policy.domain.model import PolicyParams
from services.policy.domain.targets import compute_targets

MARGIN = 1e-6  # relative: the array and scalar paths agree to ~1e-12


class ForecastMatrix:
    """Every key's current forecast as prefix sums, so a day's demand view of all keys is a few array ops."""

    def __init__(self, n: int, width: int = 0) -> None:
        self.n, self.width = n, width
        self.means = np.zeros((n, width + 1))
        self.spread = np.zeros((n, width + 1))
        self.first = np.zeros(n, dtype=np.int64)  # ordinal of the horizon's first date
        self.length = np.zeros(n, dtype=np.int64)
        self.std = np.full(n, np.nan)  # residual_std when usable
        self.regular = np.full(n, np.nan)  # residual_std_regular / _promo when usable
        self.promo_std = np.full(n, np.nan)
        self.promo = np.zeros((n, width + 1), dtype=bool)  # horizon days the forecast lifted for a promotion
        self.has = np.zeros(n, dtype=bool)
        self.current: list[Forecast | None] = [None] * n

    def set(self, i: int, fc: Forecast) -> None:
        if self.current[i] is fc:
            return
        h = len(fc.horizon.means)
        if h > self.width:
            grow = h - self.width
            self.means = np.pad(self.means, ((0, 0), (0, grow)), mode="edge")
            self.spread = np.pad(self.spread, ((0, 0), (0, grow)), mode="edge")
            self.promo = np.pad(self.promo, ((0, 0), (0, grow)))
            self.width = h
        self.means[i, 0] = self.spread[i, 0] = 0.0
        self.means[i, 1:h + 1] = np.cumsum(fc.horizon.means)
        self.spread[i, 1:h + 1] = np.cumsum(fc.horizon.spread)
        self.means[i, h + 1:] = self.means[i, h]
        self.promo[i] = False
        if fc.horizon.promo is not None:
            self.promo[i, :h] = fc.horizon.promo
        self.spread[i, h + 1:] = self.spread[i, h]
        self.first[i] = _first_ordinal(fc)
        self.length[i] = h
        std = fc.residual_std
        self.std[i] = std if std is not None and math.isfinite(std) and std >= 0 else np.nan
        regular, promo = (usable_std(v) for v in fc.regimes)
        self.regular[i] = np.nan if regular is None else regular
        self.promo_std[i] = np.nan if promo is None else promo
        self.has[i] = h > 0 and self.first[i] > 0
        self.current[i] = fc


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _first_ordinal(fc: Forecast) -> int:
    """The ordinal of the horizon's first date, or 0 when its dates are not the consecutive days the screen reads
    them as by offset (they are: forecast_payload writes start + i)."""
    if not (np.char.str_len(fc.horizon.dates) == 10).all():  # plain YYYY-MM-DD, compared as text by policy
        return 0
    try:
        days = fc.horizon.dates.astype("datetime64[D]")
    except ValueError:
        return 0
    if not len(days) or (len(days) > 1 and not (np.diff(days) == np.timedelta64(1, "D")).all()):
        return 0
    return EPOCH_ORDINAL + int(days[0].astype(np.int64))


# The PolicyParams fields the screen reads (or rules a key out of it for), and those that never decide whether a
# key orders (quantity, status, approval, explanation). A field outside both turns the screen off: a new policy
# parameter must be taught to the screen before it may skip a single decision.
SCREENED = {"lead_time_days", "lead_time_std_days", "service_level", "service_metric", "review_days", "review_mode",
            "min_level", "max_level", "safety_days", "fixed_order_cost", "holding_rate", "unit_cost", "do_not_stock",
            "force_reorder", "distribution", "lost_sales"}
NOT_DECIDING = {"moq", "pack_size", "max_qty", "overstock_days", "require_approval", "applied_rules"}


def screen_knows_params() -> bool:
    return set(PolicyParams.__dataclass_fields__) <= SCREENED | NOT_DECIDING


@dataclass(frozen=True)
class ParamArrays:
    """Resolved params of every key as arrays (NaN where a min/max is not set); `vector` False: decide alone."""

    lead: np.ndarray
    lead_std: np.ndarray
    level: np.ndarray
    review: np.ndarray
    periodic: np.ndarray
    fill: np.ndarray
    distribution: np.ndarray
    lost_sales: np.ndarray
    min_level: np.ndarray
    max_level: np.ndarray
    never: np.ndarray  # do_not_stock: never orders
    vector: np.ndarray

    @classmethod
    def of(cls, params: Sequence[PolicyParams]) -> ParamArrays:
        def arr(f):
            return np.array([f(p) for p in params], dtype=float)

        vector = np.array([not p.force_reorder and p.safety_days is None
                           and (p.fixed_order_cost is None or p.holding_rate is None or p.unit_cost is None)
                           for p in params], dtype=bool)
        return cls(arr(lambda p: p.lead_time_days), arr(lambda p: p.lead_time_std_days),
                   arr(lambda p: p.service_level), arr(lambda p: p.review_days),
                   np.array([p.review_mode == "periodic" for p in params], dtype=bool),
                   np.array([p.service_metric == "fill" for p in params], dtype=bool),
                   np.array([str(p.distribution) for p in params], dtype=object),
                   np.array([bool(p.lost_sales) for p in params], dtype=bool),
                   arr(lambda p: np.nan if p.min_level is None else p.min_level),
                   arr(lambda p: np.nan if p.max_level is None else p.max_level),
                   np.array([p.do_not_stock for p in params], dtype=bool), vector)

    def groups(self, ok: np.ndarray):
        """Keys decided by one compute_targets call: the same review mode, target kind, distribution, lost sales."""
        kinds = {(bool(a), bool(b), str(c), bool(d)) for a, b, c, d, k in zip(
            self.periodic, self.fill, self.distribution, self.lost_sales, ok, strict=True) if k}
        for periodic, fill, distribution, lost in sorted(kinds):
            yield (periodic, fill, distribution, lost), ok & (self.periodic == periodic) & (self.fill == fill) \
                & (self.distribution == distribution) & (self.lost_sales == lost)


def screen(day: date, ip: np.ndarray, fm: ForecastMatrix, pa: ParamArrays, uplift: np.ndarray,
           shared: np.ndarray | None = None, floor_gap: float = 0.0) -> np.ndarray:
    """Keys that may order on `day` (True: decide them with decide_core); False only for keys whose inventory
    position is clearly past the point where policy orders, by the same target formulas on arrays. `uplift`
    (keys × days from `day`) multiplies the promotion window's demand as `with_promotions` does, for the
    promotions announced by `day`.
    `shared`: each key's shared safety factor (NaN outside a pool), with the floor gap below its target."""
    ok, daily_mean, daily_std, _, mean, cycle = demand_arrays(day, fm, pa, uplift)
    shared = np.full(fm.n, np.nan) if shared is None else shared
    rop, up_to = np.full(fm.n, np.inf), np.full(fm.n, np.inf)
    for (periodic, fill, distribution, lost), g in pa.groups(ok):
        t = compute_targets(daily_mean[g], daily_std[g], pa.lead[g], lead_time_std_days=pa.lead_std[g],
                            review_days=pa.review[g], periodic=periodic, service_level=pa.level[g], fill_rate=fill,
                            cycle_qty=cycle[g], protection_mean=mean[g],
                            distribution=distribution, lost_sales=lost, shared_k=shared[g], floor_gap=floor_gap,
                            floor_std=np.where(np.isnan(fm.regular[g]), daily_std[g], fm.regular[g]))
        rop[g], up_to[g] = t.reorder_point, t.order_up_to
    rop = np.where(np.isnan(pa.min_level), rop, pa.min_level)
    up_to = np.maximum(np.where(np.isnan(pa.max_level), up_to, pa.max_level), rop)
    with np.errstate(invalid="ignore"):
        clear = np.where(pa.periodic, ip >= up_to + MARGIN * (1 + np.abs(up_to)),
                         ip > rop + MARGIN * (1 + np.abs(rop)))
    clear = ok & np.isfinite(rop) & np.isfinite(up_to) & clear
    return ~(clear | pa.never)


def demand_arrays(day: date, fm: ForecastMatrix, pa: ParamArrays, uplift: np.ndarray):
    """Every key's demand view on `day` as policy forms it from its forecast (horizon_demand, protection_mean,
    spread_over_protection, economic_cycle): (has a forecast and vector params, daily mean, daily σ, protection
    days, protection-period mean, cycle quantity)."""
    rows = np.arange(fm.n)
    s = np.clip(day.toordinal() - fm.first + 1, 0, None)  # horizon points up to the day: all later ones are read
    nf = fm.length - s
    ok = fm.has & (nf > 0) & pa.vector
    m = np.clip(np.minimum(nf, 28), 1, None)
    s = np.minimum(s, fm.width)
    at = np.minimum(s + m, fm.width)
    daily_mean = (fm.means[rows, at] - fm.means[rows, s]) / m
    std = np.where(np.isnan(fm.std), (fm.spread[rows, at] - fm.spread[rows, s]) / m, fm.std)
    days = np.maximum(pa.lead + np.where(pa.periodic, pa.review, 0.0), 0.0)
    mean, promoted = protection_mean(fm, s, nf, daily_mean, days, uplift)
    cycle = daily_mean * pa.review  # targets.economic_cycle without costs
    # position.spread_over_protection
    promo = np.fmax(np.where(np.isnan(fm.promo_std), std, fm.promo_std), fm.regular)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sqrt(((days - np.minimum(promoted, days)) * fm.regular**2 + np.minimum(promoted, days) * promo**2)
                         / days)
    std = np.where(np.isnan(fm.regular) | (days <= 0), std, spread)
    return ok, daily_mean, np.minimum(std, MAX_DAILY), days, mean, cycle


def protection_mean(fm: ForecastMatrix, s: np.ndarray, nf: np.ndarray, daily_mean: np.ndarray, days: np.ndarray,
                    uplift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """position.protection_mean on arrays: the horizon after the day (daily_mean past its end) over `days`, the
    last partial day pro rata, each day × its promotion uplift; and position.promo_days, the promotion days among
    them (lifted by the forecast or by an uplift)."""
    whole = np.floor(days)
    width = uplift.shape[1]  # ≥ ceil(days) + 1 for every key: the whole protection period
    off = np.arange(width)[None, :]
    at = np.minimum(s[:, None] + off, fm.width - 1)
    rows = np.arange(fm.n)[:, None]
    point = np.where(off < nf[:, None], fm.means[rows, at + 1] - fm.means[rows, at], daily_mean[:, None])
    lifted = (off < nf[:, None]) & fm.promo[rows, at]  # the forecast already lifted it: policy does not again
    promoted = lifted | (uplift[:, :width] > 1.0)
    uplift = np.where(lifted, 1.0, uplift[:, :width])
    weight = np.where(off < whole[:, None], 1.0, np.where(off == whole[:, None], days[:, None] - whole[:, None], 0.0))
    return (weight * point * uplift).sum(axis=1), (weight * promoted).sum(axis=1)
