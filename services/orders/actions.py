"""Use cases behind the HTTP routes: one locked, audited, published change of one PO per call."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.orders import repository as repo
from services.orders.domain import AuditEntry, PurchaseOrder
from services.orders.handlers import commit_change, redeliver
from shared.clock import Clock
from shared.service import ServiceRuntime

Change = Callable[[PurchaseOrder, datetime], tuple[PurchaseOrder, list[AuditEntry]]]


class NotFound(Exception):
    """No such PO for this caller (a supplier asking for another's PO gets the same answer)."""


def visible_to_supplier(po: PurchaseOrder, supplier_id: str) -> bool:
    """A supplier sees its own POs once they were sent to it, never drafts or other suppliers' orders."""
    return po.supplier_id == supplier_id and po.sent_at is not None and not po.is_transfer


async def change_po(runtime: ServiceRuntime, po_id: str, change: Change, *, clock: Clock,
                    supplier_id: str | None = None, redeliver_after: bool = False) -> PurchaseOrder:
    """One locked, audited change at `clock.now()` (event time under the event clock: an approval or a
    supplier's acknowledgement is stamped, and checked against the PO's dates, in the PO's own time);
    `redeliver_after` hands the (same) revision to delivery again."""
    now = clock.now()
    async with runtime.uow() as uow:
        po = await repo.get_po(uow.session, po_id, lock=True)
        if po is None or (supplier_id is not None and not visible_to_supplier(po, supplier_id)):
            raise NotFound(po_id)
        after, entries = change(po, now)
        await commit_change(uow, po, after, entries, now)
        if redeliver_after:
            await redeliver(uow, after, now)
    runtime.wake.set()
    return after


def single(fn: Callable[..., tuple[PurchaseOrder, AuditEntry]], *args, **kwargs) -> Change:
    """Adapt a domain function `fn(po, ..., now=...)` returning one audit entry to a Change."""
    def change(po: PurchaseOrder, now: datetime) -> tuple[PurchaseOrder, list[AuditEntry]]:
        after, entry = fn(po, *args, now=now, **kwargs)
        return after, [entry]

    return change
