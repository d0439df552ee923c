"""§9's baseline: a static min/max (Odoo, ERPNext) on the replay's own lost-sales world, one k tuned in hindsight."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from replenish.replay.dataset import Key, Selection
from replenish.replay.world import lead_draw

K_MAX, STEPS = 1000.0, 40


@dataclass(frozen=True)
class World:
    """What the baseline sees, as arrays of series (rows, in the Selection's order) × test days (columns)."""

    keys: list[Key]
    days: list[date]
    demand: np.ndarray
    mean: np.ndarray  # mean daily history demand, zero days included
    opening: np.ndarray
    leads: np.ndarray  # Lᵢ of an order placed on that day (int ≥ 1)
    pack: np.ndarray
    lead: np.ndarray  # nominal lead time L per series (min = k × mean × L)
    review: float


@dataclass(frozen=True)
class Outcome:
    fill_rate: float
    mean_on_hand: float  # daily mean of Σ over series of end-of-day on-hand
    orders: int
    ledger: dict[str, np.ndarray] = field(default_factory=dict)  # served, on_hand_end, ordered, received


@dataclass(frozen=True)
class BaselineResult:
    k: float
    fill_rate: float
    mean_on_hand: float
    dominates: bool  # k = 0 already reaches the platform's fill, so k was tuned to the target fill instead
    reached: bool  # some k ≤ K_MAX reaches the goal (else k = K_MAX)
    goal: float
    orders: int
    ledger: list[dict]

    def summary(self) -> dict:
        """The JSON-ready figures (everything but the ledger)."""
        return {"k": self.k, "fill_rate": self.fill_rate, "mean_on_hand": self.mean_on_hand,
                "dominates": self.dominates, "reached": self.reached, "goal_fill": self.goal, "orders": self.orders}


def lead_matrix(keys: Sequence[Key], days: Sequence[date], *, seed: int,
                lead_times: Sequence[tuple[float, float]]) -> np.ndarray:
    """lead_draw for every series × day ((L, σ) per series), so the baseline's orders wait as long as the
    platform's would."""
    rows = [[lead_draw(seed, sku, loc, d, lead, std) for d in days]
            for (sku, loc), (lead, std) in zip(keys, lead_times, strict=True)]
    return np.array(rows, dtype=np.int64).reshape(len(keys), len(days))


def world(sel: Selection, *, lead: float, lead_std: float = 0.0, review_days: float = 7, seed: int = 0,
          packs: Mapping[Key, float] | None = None,
          lead_times: Mapping[Key, tuple[float, float]] | None = None) -> World:
    """The baseline's arrays; `lead_times` gives (L, σ) per series (e.g. from --master), others use lead/lead_std."""
    keys = sel.keys
    pack = np.array([float((packs or {}).get(k, 1.0)) for k in keys])
    if (pack <= 0).any():
        raise ValueError("pack sizes must be > 0")
    times = [tuple(map(float, (lead_times or {}).get(k, (lead, lead_std)))) for k in keys]
    # Python's sum in day order, as the acceptance's recomputation does: the same mean to the last bit.
    mean = np.array([sum(sel.history[k].tolist()) / len(sel.history[k]) for k in keys])
    demand = np.array([sel.test[k] for k in keys], dtype=float).reshape(len(keys), len(sel.test_days))
    return World(keys, list(sel.test_days), demand, mean, np.array([sel.opening[k] for k in keys], dtype=float),
                 lead_matrix(keys, sel.test_days, seed=seed, lead_times=times), pack,
                 np.array([t[0] for t in times], dtype=float), float(review_days))


def simulate(w: World, k: float, *, keep_ledger: bool = False) -> Outcome:
    """Each day: receipts due, demand served up to on-hand (the rest lost), then if on-hand + on-order ≤ min,
    order max − (on-hand + on-order) rounded up to the pack, arriving at the start of day + Lᵢ."""
    n, days = w.demand.shape
    low = k * w.mean * w.lead
    high = low + w.mean * w.review
    due = np.zeros((n, days + int(w.leads.max(initial=1)) + 1))
    on_hand, on_order, rows = w.opening.copy(), np.zeros(n), np.arange(n)
    served = held = 0.0
    orders = 0
    book = {name: np.zeros((n, days)) for name in ("served", "on_hand_end", "ordered", "received")} if keep_ledger \
        else {}
    for t in range(days):
        got = due[:, t].copy()
        on_hand += got
        on_order -= got
        sold = np.minimum(w.demand[:, t], np.maximum(on_hand, 0.0))
        on_hand -= sold
        position = on_hand + on_order
        # 1e-9: a position a float hair under a pack multiple must not order one more pack
        qty = np.where(position <= low, np.maximum(np.ceil((high - position) / w.pack - 1e-9), 0.0) * w.pack, 0.0)
        due[rows, t + w.leads[:, t]] += qty
        on_order += qty
        served, held, orders = served + float(sold.sum()), held + float(on_hand.sum()), orders + int((qty > 0).sum())
        if keep_ledger:
            for name, value in zip(book, (sold, on_hand, qty, got), strict=True):
                book[name][:, t] = value
    total = float(w.demand.sum())
    return Outcome(served / total if total else 1.0, held / days if days else 0.0, orders, book)


def _rows(w: World, out: Outcome) -> list[dict]:
    """Ledger rows sorted by sku, location, date."""
    order = sorted(range(len(w.keys)), key=lambda i: w.keys[i])
    cols = {name: out.ledger[name].tolist() for name in out.ledger}
    demand = w.demand.tolist()
    return [{"date": day, "sku": w.keys[i][0], "location": w.keys[i][1], "demand": demand[i][t],
             "served": cols["served"][i][t], "on_hand_end": cols["on_hand_end"][i][t],
             "ordered": cols["ordered"][i][t], "received": cols["received"][i][t]}
            for i in order for t, day in enumerate(w.days)]


def bisect_k(w: World, goal: float, start: Outcome | None = None) -> tuple[float, Outcome | None]:
    """The smallest k in [0, K_MAX] (STEPS bisection steps) whose aggregate fill ≥ goal; None if none does."""
    first = start or simulate(w, 0.0)
    if first.fill_rate >= goal:
        return 0.0, first
    lo, hi, best = 0.0, K_MAX, None
    for _ in range(STEPS):
        mid = (lo + hi) / 2
        out = simulate(w, mid)
        if out.fill_rate >= goal:
            best, hi = (mid, out), mid
        else:
            lo = mid
    return best if best else (K_MAX, None)


def tune(sel: Selection, *, platform_fill: float, target_fill: float, lead: float, lead_std: float = 0.0,
         review_days: float = 7, seed: int = 0, packs: Mapping[Key, float] | None = None,
         lead_times: Mapping[Key, tuple[float, float]] | None = None) -> BaselineResult:
    """The baseline with ONE k for all series: the smallest reaching the platform's fill; if k = 0 already
    does, the baseline dominates and k is tuned to `target_fill` instead (§9)."""
    w = world(sel, lead=lead, lead_std=lead_std, review_days=review_days, seed=seed, packs=packs,
              lead_times=lead_times)
    zero = simulate(w, 0.0)
    dominates = zero.fill_rate >= platform_fill
    goal = target_fill if dominates else platform_fill
    k, found = bisect_k(w, goal, zero)
    final = simulate(w, k, keep_ledger=True)
    return BaselineResult(k, final.fill_rate, final.mean_on_hand, dominates, found is not None, goal, final.orders,
                          _rows(w, final))
