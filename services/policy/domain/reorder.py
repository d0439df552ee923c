"""Reorder decisions: when to order, how much (EOQ, MOQ, pack, cap), from a supplier or by transfer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .explain import _n
from .formulas import round_lot
from .model import PolicyParams, Position, ReorderDecision


@dataclass(frozen=True)
class Donor:
    """A location holding stock above its order-up-to level, reachable over a lane."""

    location: str
    excess: float
    lane_lead_time_days: float
    lane_unit_cost: float | None = None


def reorder_id(location: str, sku: str, decision_day: date) -> str:
    return f"{location}:{sku}:{decision_day.isoformat()}"


def needs_order(position: Position, params: PolicyParams) -> tuple[bool, str]:
    """Whether to order now, and why (also the answer to "why didn't it reorder?")."""
    ip, rop, up_to = position.inventory_position, position.reorder_point, position.order_up_to
    if params.do_not_stock:
        return False, "do_not_stock is set"
    if params.force_reorder:
        return True, f"a rule forces an order ({', '.join(params.applied_rules) or 'rule'})"
    if params.review_mode == "periodic":
        if ip < up_to:
            return True, f"periodic review: IP {_n(ip)} < S {_n(up_to)}"
        return False, f"periodic review: IP {_n(ip)} ≥ S {_n(up_to)}"
    if ip <= rop:
        return True, f"IP {_n(ip)} ≤ ROP {_n(rop)}"
    return False, f"IP {_n(ip)} > ROP {_n(rop)} (on_order {_n(position.on_order)} already counted)"


def why_not(position: Position, params: PolicyParams) -> str:
    """The reason no order is placed now (or that one would be)."""
    return needs_order(position, params)[1]


def order_quantity(position: Position, params: PolicyParams) -> tuple[float, list[str]]:
    """Quantity up to S, then MOQ, pack multiple (up) and the cap; the steps for the explanation."""
    raw = max(position.order_up_to - position.inventory_position, 0.0)
    steps = [f"S - IP = {_n(position.order_up_to)} - {_n(position.inventory_position)} = {_n(raw)}"]
    if raw <= 0 and params.force_reorder:
        raw = max(params.moq, params.pack_size)
        steps.append(f"forced order: at least one lot = {_n(raw)}")
    qty = float(round_lot(raw, params.moq, params.pack_size, params.max_qty))
    steps.append(
        f"lot: max(qty, MOQ {_n(params.moq)}) rounded up to pack {_n(params.pack_size)}"
        + (f", capped at {_n(params.max_qty)}" if params.max_qty is not None else "")
        + f" = {_n(qty)}"
    )
    return qty, steps


def _need_by(position: Position, params: PolicyParams, decision_day: date) -> date:
    arrival = decision_day + timedelta(days=math.ceil(params.lead_time_days))
    stockout = position.projected_stockout_date
    if stockout is not None and decision_day <= stockout < arrival:
        return stockout
    return arrival


def _pick_donor(qty: float, params: PolicyParams, donors: tuple[Donor, ...]) -> Donor | None:
    """A transfer wins when it covers the quantity, arrives sooner and costs no more than buying."""
    fits = [
        d for d in donors
        if d.excess >= qty and d.lane_lead_time_days < params.lead_time_days
        and (d.lane_unit_cost is None or params.unit_cost is None or d.lane_unit_cost <= params.unit_cost)
    ]
    return min(fits, key=lambda d: (d.lane_lead_time_days, d.lane_unit_cost or 0.0), default=None)


def decide_reorder(position: Position, params: PolicyParams, decision_day: date, supplier_id: str | None,
                   donors: tuple[Donor, ...] = ()) -> ReorderDecision | None:
    """A reorder when the position is at or below its reorder point, else None."""
    order, reason = needs_order(position, params)
    if not order:
        return None
    qty, steps = order_quantity(position, params)
    if qty <= 0:
        return None
    donor = _pick_donor(qty, params, donors)
    decided_at = position.as_of if position.as_of.tzinfo else datetime.combine(
        decision_day, time(), tzinfo=UTC)
    lead = donor.lane_lead_time_days if donor else params.lead_time_days
    return ReorderDecision(
        reorder_id=reorder_id(position.location, position.sku, decision_day),
        kind="transfer" if donor else "purchase",
        sku=position.sku, location=position.location, quantity=qty,
        need_by=_need_by(position, params, decision_day),
        decided_at=decided_at,
        supplier_id=None if donor else supplier_id,
        from_location=donor.location if donor else None,
        unit_cost=(donor.lane_unit_cost if donor else params.unit_cost),
        requires_approval=params.require_approval,
        explanation={"reason": reason, "quantity": steps, "lead_time_days": lead,
                     "position": position.explanation.get("formulas", {})},
    )
