"""Receipts against a PO (partial, full, over, unmatched: flagged, never lost), cancel and reschedule."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime

from .model import (
    EPS,
    RECEIVED,
    SYSTEM,
    WITH_SUPPLIER,
    AuditEntry,
    PoLine,
    PurchaseOrder,
    Receipt,
    ValidationError,
    number,
)
from .states import transition

OVER_RECEIPT = "over_receipt"
UNMATCHED_LINE = "unmatched_line"
UNEXPECTED_STATUS = "unexpected_status"


@dataclass(frozen=True)
class ReceiptFlag:
    """Something a person should look at; the quantity itself is already booked on the PO."""

    kind: str  # over_receipt | unmatched_line | unexpected_status
    po_id: str
    sku: str
    location: str
    quantity: float  # the excess, the unmatched amount, or the whole receipt
    detail: str


@dataclass(frozen=True)
class ReceiptOutcome:
    flags: tuple[ReceiptFlag, ...] = ()
    audit: AuditEntry | None = None
    duplicate: bool = False


def _book(line: PoLine, quantity: float, at: datetime) -> tuple[PoLine, float]:
    """Add to the line; returns it and the excess over the ordered quantity."""
    received = line.received_quantity + quantity
    excess = max(0.0, received - max(line.quantity, line.received_quantity))
    booked = replace(line, received_quantity=received)
    if booked.complete and line.received_at is None:
        booked = replace(booked, received_at=at)
    return booked, excess


def apply_receipt(po: PurchaseOrder, sku: str, location: str, quantity: float, at: datetime,
                  receipt_id: str | None = None) -> tuple[PurchaseOrder, ReceiptOutcome]:
    """Book a `stock_adjustment` receipt with this po_id. A known receipt_id is a no-op (redelivery)."""
    if not math.isfinite(quantity) or quantity <= 0:
        raise ValidationError([f"quantity: a receipt must be > 0, got {quantity}"])
    if receipt_id is not None and receipt_id in po.receipt_ids:
        return po, ReceiptOutcome(duplicate=True)
    ids = po.receipt_ids + ((receipt_id,) if receipt_id is not None else ())
    line = po.line(sku, location)
    if line is None:
        kept = replace(po, receipt_ids=ids,
                       unmatched_receipts=(*po.unmatched_receipts, Receipt(sku, location, quantity, at)))
        flag = ReceiptFlag(UNMATCHED_LINE, po.po_id, sku, location, quantity,
                           f"{number(quantity)} of {sku} at {location}: no such line on {po.po_id}")
        return kept, ReceiptOutcome(flags=(flag,))
    booked, excess = _book(line, quantity, at)
    po = replace(po, receipt_ids=ids, lines=tuple(booked if ln is line else ln for ln in po.lines))
    flags: list[ReceiptFlag] = []
    if excess > EPS:
        flags.append(ReceiptFlag(OVER_RECEIPT, po.po_id, sku, location, excess,
                                 f"received {number(booked.received_quantity)} of {sku} at {location}, "
                                 f"ordered {number(line.quantity)}"))
    if po.status not in WITH_SUPPLIER:
        if po.status != RECEIVED:
            flags.append(ReceiptFlag(UNEXPECTED_STATUS, po.po_id, sku, location, quantity,
                                     f"receipt while {po.po_id} is {po.status}"))
        return po, ReceiptOutcome(flags=tuple(flags))
    action = "receive_all" if all(ln.complete for ln in po.lines) else "receive_part"
    po, entry = transition(po, action, SYSTEM, at, f"received {number(quantity)} of {sku} at {location}")
    return po, ReceiptOutcome(flags=tuple(flags), audit=entry)


def cancel(po: PurchaseOrder, actor: str, now: datetime,
           reason: str = "") -> tuple[PurchaseOrder, AuditEntry]:
    """Close what is still open; quantities already received stay on their lines."""
    po_after, entry = transition(po, "cancel", actor, now, reason)
    return _revised(po, po_after), entry


def _revised(before: PurchaseOrder, after: PurchaseOrder) -> PurchaseOrder:
    """A change the supplier already holding the PO must hear about gets a new push revision (and key)."""
    if before.status in WITH_SUPPLIER:
        return replace(after, send_revision=before.send_revision + 1)
    return after


def reschedule(po: PurchaseOrder, new_date: date, actor: str, now: datetime,
               reason: str = "") -> tuple[PurchaseOrder, AuditEntry]:
    """Move the date the goods are owed. Once a supplier has promised, the new date is the new promise."""
    moved, entry = transition(po, "reschedule", actor, now,
                              f"{po.due_date} -> {new_date}" + (f"; {reason}" if reason else ""))
    moved = _revised(po, moved)
    if moved.promised_date is not None:
        return replace(moved, promised_date=new_date, expected_date=new_date), entry
    return replace(moved, expected_date=new_date), entry
