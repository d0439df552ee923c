"""Approval rules: auto-approve small POs, one approver above a total, two distinct ones above another."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from .consolidation import order_quantity
from .model import (
    APPROVED,
    PENDING_APPROVAL,
    SYSTEM,
    AuditEntry,
    IllegalTransition,
    PurchaseOrder,
    ValidationError,
    number,
)
from .states import audit, check, transition


@dataclass(frozen=True)
class ApprovalRules:
    """Totals in the PO's currency: below `auto_below` no human is needed; above `second_above` two are."""

    auto_below: float = 1000.0
    second_above: float = 10000.0

    def __post_init__(self) -> None:
        if self.auto_below < 0 or self.second_above < self.auto_below:
            raise ValueError("approval rules need 0 <= auto_below <= second_above")


def required_approvals(po: PurchaseOrder, rules: ApprovalRules) -> int:
    """0, 1 or 2 distinct approvers; a reorder flagged requires_approval forces at least one."""
    if po.total > rules.second_above:
        return 2
    if po.total >= rules.auto_below or po.requires_approval:
        return 1
    return 0


def submit(po: PurchaseOrder, rules: ApprovalRules, now: datetime) -> tuple[PurchaseOrder, AuditEntry]:
    """Close consolidation: approve on the rules alone, or wait for approvers."""
    need = required_approvals(po, rules)
    if need == 0:
        why = f"total {po.total:g} below auto-approval limit {rules.auto_below:g}"
        return transition(po, "auto_approve", SYSTEM, now, why)
    if po.total > rules.second_above:
        why = f"total {po.total:g} above {rules.second_above:g}: two distinct approvers required"
    elif po.total >= rules.auto_below:
        why = f"total {po.total:g} at or above {rules.auto_below:g}: one approver required"
    else:
        why = "a reorder on this PO requires approval"
    return transition(po, "submit", SYSTEM, now, why)


def approve(po: PurchaseOrder, actor: str, now: datetime, rules: ApprovalRules,
            reason: str = "") -> tuple[PurchaseOrder, AuditEntry]:
    """Record `actor`'s approval; the PO becomes approved once enough distinct approvers agreed."""
    check(po, "approve")
    if actor in po.approvals:
        raise IllegalTransition(po.po_id, po.status, "approve",
                                f"{actor} already approved; a different approver is required")
    approvals = (*po.approvals, actor)
    # approving by hand is a decision in itself, even where the rules would not ask for one
    need = max(1, required_approvals(po, rules))
    to_status = APPROVED if len(approvals) >= need else PENDING_APPROVAL
    note = reason or f"approval {len(approvals)} of {need}"
    entry = audit(po, "approve", actor, now, note, to_status)
    return replace(po, status=to_status, approvals=approvals), entry


def reject(po: PurchaseOrder, actor: str, now: datetime, reason: str) -> tuple[PurchaseOrder, AuditEntry]:
    if not reason or not reason.strip():
        raise ValidationError(["reason: required to reject a PO"])
    return transition(po, "reject", actor, now, reason.strip())


def edit_line(po: PurchaseOrder, sku: str, location: str, quantity: float, actor: str, now: datetime,
              reason: str = "") -> tuple[PurchaseOrder, AuditEntry]:
    """Change a line before approval: rounded up to packs and MOQ, 0 drops the line.

    Approvals already given are cleared: they were for a different total.
    """
    check(po, "edit")
    line = po.line(sku, location)
    if line is None:
        raise ValidationError([f"lines: no line for {sku} at {location} on {po.po_id}"])
    if quantity < 0:
        raise ValidationError([f"quantity: must be >= 0, got {quantity}"])
    if quantity == 0:
        lines = tuple(ln for ln in po.lines if ln is not line)
        if not lines:
            raise ValidationError(["quantity: cannot drop the last line; reject the PO instead"])
        note = f"{sku}@{location}: line removed"
    else:
        new_qty = order_quantity(quantity, line.moq, line.pack_size)
        lines = tuple(replace(ln, quantity=new_qty) if ln is line else ln for ln in po.lines)
        note = (f"{sku}@{location}: {number(line.quantity)} -> {number(new_qty)} "
                f"(asked {number(quantity)}, pack {number(line.pack_size)}, moq {number(line.moq)})")
    entry = audit(po, "edit", actor, now, f"{note}; {reason}" if reason else note, po.status)
    return replace(po, lines=lines, approvals=()), entry
