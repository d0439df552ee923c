"""What the API shows of a PO: the internal view (snapshot, audit, deliveries, flags) and the supplier's."""
from __future__ import annotations

from typing import Any

from services.orders import repository as repo
from services.orders.domain import ApprovalRules, PurchaseOrder, required_approvals, snapshot
from services.orders.domain.model import number


def summary(po: PurchaseOrder) -> dict[str, Any]:
    return {**snapshot(po), "delivery_status": po.delivery_status, "delivery_attempts": po.delivery_attempts,
            "delivery_error": po.delivery_error, "send_revision": po.send_revision}


async def detail(session: Any, po: PurchaseOrder, rules: ApprovalRules) -> dict[str, Any]:
    view = summary(po)
    view.update({
        "required_approvals": required_approvals(po, rules),
        "shipments": [{"at": s.at.isoformat(), "eta": s.eta.isoformat(), "tracking": s.tracking,
                       "lines": [{"sku": k, "location": loc, "quantity": number(q)} for k, loc, q in s.lines]}
                      for s in po.shipments],
        "audit": await repo.audit_for(session, po.po_id),
        "deliveries": await repo.deliveries_for(session, po.po_id),
        "receipt_flags": await repo.flags_for(session, po.po_id),
    })
    for line, ln in zip(view["lines"], po.lines, strict=True):
        line.update({"need_by": ln.need_by.isoformat() if ln.need_by else None,
                     "pack_size": number(ln.pack_size), "moq": number(ln.moq)})
    return view


def for_supplier(po: PurchaseOrder) -> dict[str, Any]:
    """The supplier's copy: its order, dates and quantities; none of our internal reasoning."""
    snap = snapshot(po)
    keep = ("po_id", "supplier_id", "status", "total", "created_at", "sent_at", "expected_date",
            "promised_date", "eta", "acknowledged_at", "tracking")
    lines = [{k: ln[k] for k in ("sku", "location", "quantity", "unit_cost", "accepted_quantity",
                                 "received_quantity")} for ln in snap["lines"]]
    return {**{k: snap[k] for k in keep}, "revision": po.send_revision, "lines": lines}

