"""The PO state machine (docs/contract.md §5): which action is legal from which status, and the audit it leaves."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .model import (
    ACKNOWLEDGED,
    APPROVED,
    CANCELLED,
    PARTIALLY_RECEIVED,
    PENDING_APPROVAL,
    PROPOSED,
    RECEIVED,
    REJECTED,
    SENT,
    SHIPPED,
    AuditEntry,
    IllegalTransition,
    PurchaseOrder,
)

_OPEN = (PROPOSED, PENDING_APPROVAL, APPROVED, SENT, ACKNOWLEDGED, SHIPPED, PARTIALLY_RECEIVED)
_WITH_SUPPLIER = (SENT, ACKNOWLEDGED, SHIPPED)

# action -> {from_status: to_status}. Anything not listed is illegal.
TRANSITIONS: dict[str, dict[str, str]] = {
    # window closed and a human must approve
    "submit": {PROPOSED: PENDING_APPROVAL},
    # window closed and the approval rules approve on their own
    "auto_approve": {PROPOSED: APPROVED},
    "approve": {PROPOSED: APPROVED, PENDING_APPROVAL: APPROVED},
    "reject": {PROPOSED: REJECTED, PENDING_APPROVAL: REJECTED},
    # a planner's quantity edit keeps the status: it only happens before approval
    "edit": {PROPOSED: PROPOSED, PENDING_APPROVAL: PENDING_APPROVAL},
    "send": {APPROVED: SENT},
    # a revised acknowledgement (new promised date) is legal, as EDI 855 revisions are
    "acknowledge": {SENT: ACKNOWLEDGED, ACKNOWLEDGED: ACKNOWLEDGED},
    # suppliers may ship without acknowledging; a later ship notice (backorder) keeps a partial PO partial
    "ship": {SENT: SHIPPED, ACKNOWLEDGED: SHIPPED, SHIPPED: SHIPPED,
             PARTIALLY_RECEIVED: PARTIALLY_RECEIVED},
    # goods are a physical fact: they may arrive before the ship notice or the acknowledgement
    "receive_part": {s: PARTIALLY_RECEIVED for s in (*_WITH_SUPPLIER, PARTIALLY_RECEIVED)},
    "receive_all": {s: RECEIVED for s in (*_WITH_SUPPLIER, PARTIALLY_RECEIVED)},
    # cancel closes whatever is still open; quantities already received stay on the lines
    "cancel": {s: CANCELLED for s in _OPEN},
    "reschedule": {s: s for s in _OPEN},
    # push the same revision again after its delivery failed for good; the status stays
    "resend": {s: s for s in (*_WITH_SUPPLIER, PARTIALLY_RECEIVED)},
}


def legal_from(action: str) -> tuple[str, ...]:
    return tuple(TRANSITIONS.get(action, {}))


def check(po: PurchaseOrder, action: str) -> str:
    """The status `action` leads to from `po.status`; raises IllegalTransition otherwise."""
    targets = TRANSITIONS.get(action)
    if targets is None:
        raise IllegalTransition(po.po_id, po.status, action, "unknown action")
    if po.status not in targets:
        raise IllegalTransition(po.po_id, po.status, action,
                                "legal from " + ", ".join(targets))
    return targets[po.status]


def audit(po: PurchaseOrder, action: str, actor: str, now: datetime, reason: str,
          to_status: str) -> AuditEntry:
    return AuditEntry(at=now, actor=actor, action=action, from_status=po.status,
                      to_status=to_status, reason=reason)


def transition(po: PurchaseOrder, action: str, actor: str, now: datetime,
               reason: str = "") -> tuple[PurchaseOrder, AuditEntry]:
    """Apply `action` to the PO's status; the returned entry is its audit trail record."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    to_status = check(po, action)
    entry = audit(po, action, actor, now, reason, to_status)
    changes: dict[str, object] = {"status": to_status}
    if to_status == SENT:
        changes["sent_at"] = now
    if to_status in (RECEIVED, REJECTED, CANCELLED):
        changes["closed_at"] = now
    if to_status == RECEIVED:
        changes["received_at"] = now
    return replace(po, **changes), entry
