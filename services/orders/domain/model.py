"""Purchase-order value objects: the PO, its lines, the reorder and supplier_item it is built from."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

SYSTEM = "system"
TRANSFER_PREFIX = "transfer:"

PROPOSED = "proposed"
PENDING_APPROVAL = "pending_approval"
APPROVED = "approved"
SENT = "sent"
ACKNOWLEDGED = "acknowledged"
SHIPPED = "shipped"
PARTIALLY_RECEIVED = "partially_received"
RECEIVED = "received"
REJECTED = "rejected"
CANCELLED = "cancelled"

STATUSES = (PROPOSED, PENDING_APPROVAL, APPROVED, SENT, ACKNOWLEDGED, SHIPPED, PARTIALLY_RECEIVED,
            RECEIVED, REJECTED, CANCELLED)
TERMINAL = frozenset({RECEIVED, REJECTED, CANCELLED})
# Statuses in which the supplier holds the order: the PO counts as on_order and can be late.
WITH_SUPPLIER = frozenset({SENT, ACKNOWLEDGED, SHIPPED, PARTIALLY_RECEIVED})

# Tolerance for float quantities: 11.999999 of a pack of 12 is a full pack.
EPS = 1e-9


class IllegalTransition(Exception):
    """An action that the PO's current status does not allow (HTTP 409)."""

    def __init__(self, po_id: str, status: str, action: str, detail: str = "") -> None:
        self.po_id, self.status, self.action = po_id, status, action
        msg = f"cannot {action} PO {po_id} in status {status}"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class ValidationError(Exception):
    """Input a caller (planner, supplier, feed) got wrong; `errors` lists every problem (HTTP 422)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    from_status: str
    to_status: str
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "from_status": self.from_status, "to_status": self.to_status, "reason": self.reason}


@dataclass(frozen=True)
class SupplierItem:
    supplier_id: str
    sku: str
    lead_time_days: float = 0.0
    lead_time_std_days: float | None = None
    moq: float | None = None
    pack_size: float | None = None
    unit_cost: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SupplierItem:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Reorder:
    reorder_id: str
    sku: str
    location: str
    quantity: float
    need_by: date
    decided_at: datetime
    kind: str = "purchase"
    supplier_id: str | None = None
    from_location: str | None = None
    unit_cost: float | None = None
    requires_approval: bool = False
    explanation: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Reorder:
        """Build from a `replenish.policy.reorder.v1` payload (ISO strings or date objects)."""
        names = cls.__dataclass_fields__
        kw = {k: v for k, v in data.items() if k in names}
        if isinstance(kw.get("need_by"), str):
            kw["need_by"] = date.fromisoformat(kw["need_by"][:10])
        if isinstance(kw.get("decided_at"), str):
            kw["decided_at"] = datetime.fromisoformat(kw["decided_at"])
        return cls(**kw)

    @property
    def party_id(self) -> str:
        """Who fills this order: the supplier, or `transfer:<from_location>` for a transfer."""
        if self.kind == "transfer":
            if not self.from_location:
                raise ValidationError([f"reorder {self.reorder_id}: transfer without from_location"])
            return f"{TRANSFER_PREFIX}{self.from_location}"
        if not self.supplier_id:
            raise ValidationError([f"reorder {self.reorder_id}: purchase without supplier_id"])
        return self.supplier_id


@dataclass(frozen=True)
class Shipment:
    """One ship notice (EDI 856); a repeated notice with the same tracking replaces the earlier one."""

    at: datetime
    eta: date
    tracking: str | None
    lines: tuple[tuple[str, str, float], ...]  # (sku, location, quantity)


@dataclass(frozen=True)
class Receipt:
    """A receipt the PO had no line for (or arrived while not expected): kept, never dropped."""

    sku: str
    location: str
    quantity: float
    at: datetime


@dataclass(frozen=True)
class PoLine:
    sku: str
    location: str
    quantity: float
    unit_cost: float
    reorder_ids: tuple[str, ...] = ()
    requested_quantity: float = 0.0
    pack_size: float = 1.0
    moq: float = 0.0
    lead_time_days: float = 0.0
    need_by: date | None = None
    accepted_quantity: float | None = None
    received_quantity: float = 0.0
    received_at: datetime | None = None  # when the line first reached its target quantity

    @property
    def key(self) -> tuple[str, str]:
        return (self.sku, self.location)

    @property
    def target_quantity(self) -> float:
        """What the supplier committed to: accepted quantity once acknowledged, else the ordered one."""
        return self.quantity if self.accepted_quantity is None else self.accepted_quantity

    @property
    def open_quantity(self) -> float:
        return max(0.0, self.target_quantity - self.received_quantity)

    @property
    def complete(self) -> bool:
        return self.received_quantity + EPS >= self.target_quantity


@dataclass(frozen=True)
class PurchaseOrder:
    po_id: str
    supplier_id: str
    status: str
    created_at: datetime
    lines: tuple[PoLine, ...] = ()
    reason: str = ""
    requires_approval: bool = False
    approvals: tuple[str, ...] = ()
    expected_date: date | None = None
    promised_date: date | None = None
    eta: date | None = None
    sent_at: datetime | None = None
    acknowledged_at: datetime | None = None
    received_at: datetime | None = None
    closed_at: datetime | None = None
    send_revision: int = 1
    delivery_status: str = "none"  # none | pending | delivered | failed
    delivery_attempts: int = 0
    delivery_failed_at: datetime | None = None
    delivery_error: str | None = None  # why the last delivery failed (push answer, mail outcome)
    shipments: tuple[Shipment, ...] = ()
    unmatched_receipts: tuple[Receipt, ...] = ()
    receipt_ids: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return round(sum(ln.quantity * ln.unit_cost for ln in self.lines), 6)

    @property
    def reorder_ids(self) -> frozenset[str]:
        return frozenset(r for ln in self.lines for r in ln.reorder_ids)

    @property
    def is_transfer(self) -> bool:
        """An internal transfer between locations: never pushed, emailed or acknowledged by anyone."""
        return self.supplier_id.startswith(TRANSFER_PREFIX)

    @property
    def due_date(self) -> date | None:
        """The date the goods are owed: the supplier's promise, else our expectation."""
        return self.promised_date or self.expected_date

    def line(self, sku: str, location: str) -> PoLine | None:
        return next((ln for ln in self.lines if ln.key == (sku, location)), None)


def number(q: float) -> float | int:
    """Integral quantities render as ints (24, not 24.0) in CSV and JSON."""
    return round(q) if math.isclose(q, round(q), abs_tol=EPS) else q
