"""Small builders for orders domain tests: one reorder, one supplier_item, a PO driven to a status."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from services.orders.domain import (
    ApprovalRules,
    PurchaseOrder,
    Reorder,
    SupplierItem,
    add_reorder,
    send,
    submit,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RULES = ApprovalRules(auto_below=1000.0, second_above=10000.0)


def reorder(rid: str = "store-1:SKU-1:2026-11-02", sku: str = "SKU-1", location: str = "store-1",
            quantity: float = 30, supplier: str = "SUP-1", need_by: date = date(2026, 11, 9),
            requires_approval: bool = False, unit_cost: float | None = None) -> Reorder:
    return Reorder(reorder_id=rid, sku=sku, location=location, quantity=quantity, need_by=need_by,
                   decided_at=T0, supplier_id=supplier, requires_approval=requires_approval,
                   unit_cost=unit_cost)


def item(sku: str = "SKU-1", moq: float | None = 12, pack: float | None = 12, cost: float | None = 2.5,
         lead: float = 7, supplier: str = "SUP-1") -> SupplierItem:
    return SupplierItem(supplier_id=supplier, sku=sku, lead_time_days=lead, moq=moq, pack_size=pack,
                        unit_cost=cost)


def proposed(*lines: tuple[str, str, float], now: datetime = T0) -> PurchaseOrder:
    """A proposed PO for SUP-1 with (sku, location, quantity) lines, pack 12, 2.5 each."""
    po = None
    for n, (sku, loc, qty) in enumerate(lines or (("SKU-1", "store-1", 36),)):
        po, _ = add_reorder(po, reorder(rid=f"{loc}:{sku}:{n}", sku=sku, location=loc, quantity=qty),
                            item(sku=sku), now)
    assert po is not None
    return po


def sent(*lines: tuple[str, str, float], at: datetime = T0) -> PurchaseOrder:
    """Approved automatically and sent at `at` (lead time 7 days, so expected at + 7 days)."""
    po, _ = submit(proposed(*lines, now=at), RULES, at)
    po, _ = send(po, at)
    return po


def with_status(status: str) -> PurchaseOrder:
    return replace(proposed(), status=status)


def later(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)
