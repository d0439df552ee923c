"""`replenish simulate`'s policy side: each key's inputs as policy reads them as of a closed day, decided by
policy's own pure code (`services.policy.decide.decide_core`, what `decide_key` runs before its alerts).

`KeyInputs` are built as `inputs.read_inputs(as_of=D's end)` would from the replay's world: on-hand at the
day's end; on order = open PO lines (every reorder is on a PO by the next day, so no unconfirmed reorder waits);
arrivals at each PO's ETA; the forecast as of D − 1 or earlier; lead times learned from received POs (local
receipt day − local decision day, ≥ 1, per supplier item); no segment (policy does not segment under the event
clock); the rules of the `policy` event and `--rules`; promotions announced by D. The vectorized screen that
spares most keys the call is replenish/replay/fast_screen.py.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from replenish.replay.fast_forecast import Forecast
from services.policy.decide import decide_core, pool_member
from services.policy.domain.assemble import HISTORY_DAYS, history_demand, horizon_demand
from services.policy.domain.model import DemandView, ReorderDecision
from services.policy.domain.pooling import Factors
from services.policy.domain.rules import RuleSet
from services.policy.inputs import KeyInputs
from services.policy.settings import PolicySettings

Key = tuple[str, str]  # (sku, location)
STATIC_FIELDS = {"sku", "location", "category", "supplier", "unit_cost", "lead_time_days", "abc", "xyz",
                 "pattern", "class"}


def static_rules(rules: RuleSet) -> bool:
    """True when no rule depends on a key's stock, demand or the date: its params are then a function of the key
    and its learned lead time, and the screen may use them."""
    return all(not r.get("valid_from") and not r.get("valid_to") and _static(r.get("when")) for r in rules.rules)


def _static(cond: Any) -> bool:
    if cond is None:
        return True
    for group in ("all", "any"):
        if group in cond:
            return all(_static(c) for c in cond[group])
    if "not" in cond:
        return _static(cond["not"])
    return cond.get("field") in STATIC_FIELDS


@dataclass
class Line:
    """An open PO line at one key, as policy's po_lines hold it."""

    po_id: str
    quantity: float
    eta: date  # the PO's expected date once shipped (the latest of its lines)
    arrival: date  # when this line is received (06:00)


@dataclass
class KeyState:
    sku: str
    location: str
    item: dict[str, Any]
    si: dict[str, Any] | None
    lines: list[Line] = field(default_factory=list)
    promos: list[tuple[date, date, date]] = field(default_factory=list)  # (announced, start, end)
    _rows: tuple[int, list[dict[str, Any]]] = (-1, [])  # promo_rows for that many known promotions


class Book:
    """Lead times learned per supplier item (policy.lead_times): a PO fully received on day R, decided on day D,
    teaches each of its lines R − D days (when ≥ 1) from R on."""

    def __init__(self) -> None:
        self.learned: dict[tuple[str, str], list[float]] = {}
        self._completes: dict[date, list[tuple[str, list[str], float]]] = {}

    def po_received(self, day: date, supplier_id: str, skus: list[str], days: float) -> None:
        if days >= 1:
            self._completes.setdefault(day, []).append((supplier_id, skus, days))

    def advance(self, day: date) -> set[tuple[str, str]]:
        """Learn what POs received by `day` teach; returns the supplier items that learned."""
        changed = set()
        for due in sorted(d for d in self._completes if d <= day):
            for supplier_id, skus, days in self._completes.pop(due):
                for sku in skus:
                    self.learned.setdefault((supplier_id, sku), []).append(days)
                    changed.add((supplier_id, sku))
        return changed

    def receipts(self, supplier_id: str, sku: str) -> tuple[int, float, float]:
        """(n, avg, stddev_samp) of the learned days, as the inputs read gives them (0 for no spread)."""
        days = self.learned.get((supplier_id, sku), [])
        n = len(days)
        if not n:
            return 0, 0.0, 0.0
        mean = sum(days) / n
        std = math.sqrt(sum((d - mean) ** 2 for d in days) / (n - 1)) if n > 1 else 0.0
        return n, mean, std


def open_lines(state: KeyState, day: date) -> list[Line]:
    """The key's lines not yet received at the end of `day`, in po_id order (the read's order)."""
    state.lines = [ln for ln in state.lines if ln.arrival > day]
    return sorted(state.lines, key=lambda ln: ln.po_id)


def promo_rows(state: KeyState, day: date) -> list[dict[str, Any]]:
    """Promotions policy has consumed by `day` (announced by then), as stored, in (location, start) order."""
    known = [(s, e) for a, s, e in state.promos if a <= day]
    if state._rows[0] != len(known):  # promotions are only ever added: the count says what is known
        rows = [{"sku": state.sku, "location": state.location, "start": s.isoformat(), "end": e.isoformat(),
                 "kind": None, "expected_uplift": None} for s, e in known]
        state._rows = (len(known), sorted(rows, key=lambda r: r["start"]))
    return state._rows[1]


def key_inputs(state: KeyState, *, on_hand: float, as_of: datetime, day: date, receipts: tuple[int, float, float],
               sales: Mapping[date, float] | None = None, first_sale: date | None = None) -> KeyInputs:
    lines = open_lines(state, day)
    k = KeyInputs(location=state.location, sku=state.sku, on_hand=on_hand, as_of=as_of, last_sale_at=None, day=day,
                  item=state.item, si=state.si, promotions=promo_rows(state, day))
    k.on_order = sum(ln.quantity for ln in lines)
    k.arrivals = [(ln.eta, ln.quantity) for ln in lines]
    if state.si:
        k.receipts = receipts
    k.first_sale, k.sales = first_sale, dict(sales or {})
    return k


def demand_view(fc: Forecast | None, k: KeyInputs) -> DemandView:
    """decide.key_demand, from the forecast's arrays: the forecast after the day, else the sales history."""
    if fc is not None:
        return horizon_demand(fc.horizon, k.day, fc.residual_std, fc.model, fc.regimes)
    return history_demand(k.first_sale, k.sales, k.day)


def decide(k: KeyInputs, fc: Forecast | None, rules: RuleSet, cfg: PolicySettings,
           factors: Factors | None = None) -> ReorderDecision | None:
    """Policy's decision for one key (decide_core: resolved params, promotions, position, reorder)."""
    return decide_core(k, demand_view(fc, k), rules, cfg, {}, (factors or {}).get(k.location)).decision


def member(k: KeyInputs, fc: Forecast | None, rules: RuleSet, cfg: PolicySettings):
    """What the key adds to its location's shared factor (decide.pool_member), or None."""
    return pool_member(k, demand_view(fc, k), rules, cfg)


def fallback_sales(sales_row: np.ndarray, first: date, day: date) -> tuple[date | None, dict[date, float]]:
    """policy.daily_sales for the no-forecast fallback: the first sale day and the window's sales up to `day`."""
    n = (day - first).days + 1
    sold = np.flatnonzero(sales_row[:n] > 0)
    if not sold.size:
        return None, {}
    since = max(first + timedelta(days=int(sold[0])), day - timedelta(days=HISTORY_DAYS - 1))
    return first + timedelta(days=int(sold[0])), {
        first + timedelta(days=int(i)): float(sales_row[i]) for i in sold if first + timedelta(days=int(i)) >= since}
