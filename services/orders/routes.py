"""Orders HTTP API (docs/contract.md §5): internal PO views and actions, supplier admin, the supplier's own API."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.dialects.postgresql import insert

from services.orders import repository as repo
from services.orders.actions import Change, NotFound, change_po, single, visible_to_supplier
from services.orders.domain import (
    STATUSES,
    AuditEntry,
    PurchaseOrder,
    acknowledge,
    approve,
    by_supplier,
    by_supplier_item,
    cancel,
    edit_line,
    reject,
    reschedule,
    resend,
    ship,
)
from services.orders.handlers import utcnow
from services.orders.models import webhooks
from services.orders.schemas import (
    AcknowledgeBody,
    ApproveBody,
    EditLinesBody,
    ReasonBody,
    RescheduleBody,
    ShipBody,
    WebhookBody,
)
from services.orders.views import detail, for_supplier, summary
from shared.auth.principals import Principal
from shared.http.cursor import parse_time_cursor, time_cursor
from shared.http.deps import Admin, Approver, Reader, Supplier, require
from shared.http.errors import ApiError

router = APIRouter(prefix="/v1", tags=["orders"])
Editor = Annotated[Principal, Depends(require("planner", "approver", "admin"))]


def _runtime(request: Request):
    return request.app.state.runtime


def _rules(request: Request):
    return request.app.state.orders_settings.approval_rules


def _clock(request: Request):
    """The service's Clock (built once in app.create_app): wall time, or event time under the event clock."""
    return request.app.state.orders_clock


async def _change(request: Request, po_id: str, change: Change, **kwargs: Any) -> PurchaseOrder:
    return await change_po(_runtime(request), po_id, change, clock=_clock(request), **kwargs)


async def _detail(request: Request, po: PurchaseOrder) -> dict[str, Any]:
    async with _runtime(request).sessionmaker() as session:
        return await detail(session, po, _rules(request))


@router.get("/purchase-orders")
async def list_purchase_orders(request: Request, _: Reader, status: str | None = None,
                               supplier_id: str | None = None,
                               limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                               cursor: Annotated[str | None, Query(description="next_cursor of the previous page")]
                               = None) -> dict[str, Any]:
    """Newest first; `next_cursor` (null on the last page) continues the listing."""
    if status and status not in STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(STATUSES)}")
    async with _runtime(request).sessionmaker() as session:
        pos = await repo.list_pos(session, status=status, supplier_id=supplier_id, limit=limit,
                                  after=parse_time_cursor(cursor))
    last = pos[-1] if len(pos) == limit else None
    return {"items": [summary(po) for po in pos],
            "next_cursor": time_cursor(last.created_at, last.po_id) if last else None}


@router.get("/purchase-orders/{po_id}")
async def get_purchase_order(po_id: str, request: Request, _: Reader) -> dict[str, Any]:
    async with _runtime(request).sessionmaker() as session:
        po = await repo.get_po(session, po_id)
    if po is None:
        raise NotFound(po_id)
    return await _detail(request, po)


@router.post("/purchase-orders/{po_id}/approve")
async def approve_po(po_id: str, request: Request, who: Approver,
                     body: ApproveBody | None = None) -> dict[str, Any]:
    reason = body.reason if body else ""
    po = await _change(request, po_id, single(approve, actor=who.name, rules=_rules(request), reason=reason))
    return await _detail(request, po)


@router.post("/purchase-orders/{po_id}/reject")
async def reject_po(po_id: str, body: ReasonBody, request: Request, who: Approver) -> dict[str, Any]:
    po = await _change(request, po_id, single(reject, actor=who.name, reason=body.reason))
    return await _detail(request, po)


@router.post("/purchase-orders/{po_id}/cancel")
async def cancel_po(po_id: str, request: Request, who: Approver, body: ReasonBody | None = None) -> dict[str, Any]:
    po = await _change(request, po_id, single(cancel, actor=who.name, reason=body.reason if body else ""))
    return await _detail(request, po)


@router.post("/purchase-orders/{po_id}/resend")
async def resend_po(po_id: str, request: Request, who: Approver, body: ReasonBody | None = None) -> dict[str, Any]:
    """Push a PO whose delivery failed for good again: same revision, body and Idempotency-Key (409 else)."""
    po = await _change(request, po_id, single(resend, actor=who.name, reason=body.reason if body else ""),
                       redeliver_after=True)
    return await _detail(request, po)


# one route per method: a route with a set of methods names its OpenAPI operation after whichever method the set
# yields first, which changes from run to run (string hashing) and made the docs/api export unstable
@router.patch("/purchase-orders/{po_id}/lines")
@router.post("/purchase-orders/{po_id}/lines")
async def edit_lines(po_id: str, body: EditLinesBody, request: Request, who: Editor) -> dict[str, Any]:
    def change(po: PurchaseOrder, now: datetime) -> tuple[PurchaseOrder, list[AuditEntry]]:
        entries = []
        for line in body.lines:
            po, entry = edit_line(po, line.sku, line.location, line.quantity, who.name, now, body.reason)
            entries.append(entry)
        return po, entries

    return await _detail(request, await _change(request, po_id, change))


@router.post("/purchase-orders/{po_id}/reschedule")
async def reschedule_po(po_id: str, body: RescheduleBody, request: Request, who: Editor) -> dict[str, Any]:
    po = await _change(request, po_id,
                       single(reschedule, new_date=body.date, actor=who.name, reason=body.reason))
    return await _detail(request, po)


@router.put("/suppliers/{supplier_id}/webhook")
async def put_webhook(supplier_id: str, body: WebhookBody, request: Request, who: Admin) -> dict[str, Any]:
    """Accepted before the supplier's master data arrives; the secret is stored, never shown again."""
    now = utcnow()
    async with _runtime(request).uow() as uow:
        stmt = insert(webhooks).values(supplier_id=supplier_id, url=body.url, secret=body.secret,
                                       updated_at=now, updated_by=who.name)
        await uow.session.execute(stmt.on_conflict_do_update(
            index_elements=[webhooks.c.supplier_id],
            set_={k: stmt.excluded[k] for k in ("url", "secret", "updated_at", "updated_by")}))
    return {"supplier_id": supplier_id, "url": body.url, "secret_set": True, "updated_at": now.isoformat()}


@router.post("/suppliers/{supplier_id}/keys", status_code=201)
async def issue_key(supplier_id: str, request: Request, _: Admin) -> dict[str, Any]:
    token, key_id = await request.app.state.tokens.issue(name=f"supplier:{supplier_id}", role="supplier",
                                                         supplier_id=supplier_id)
    return {"token": token, "key_id": key_id, "supplier_id": supplier_id}


@router.delete("/suppliers/{supplier_id}/keys/{key_id}", status_code=204)
async def revoke_key(supplier_id: str, key_id: str, request: Request, _: Admin) -> Response:
    if not await request.app.state.tokens.revoke(key_id, supplier_id=supplier_id):
        raise ApiError(404, f"no active key {key_id} for supplier {supplier_id}")
    return Response(status_code=204)


async def _performance(request: Request, supplier_id: str | None) -> tuple[dict, dict]:
    async with _runtime(request).sessionmaker() as session:
        pos = await repo.list_pos(session, supplier_id=supplier_id, sent_only=True, limit=100_000)
    now = _clock(request).now()  # which POs are due and late is a learned value: event time under the event clock
    return by_supplier(pos, now), by_supplier_item(pos, now)


@router.get("/suppliers/performance")
async def all_performance(request: Request, _: Reader) -> dict[str, Any]:
    suppliers, items = await _performance(request, None)
    return {"by_supplier": [{"supplier_id": s, **p.to_dict()} for s, p in sorted(suppliers.items())],
            "by_supplier_item": [{"supplier_id": s, "sku": k, **p.to_dict()} for (s, k), p in sorted(items.items())]}


@router.get("/suppliers/{supplier_id}/performance")
async def supplier_performance(supplier_id: str, request: Request, _: Reader) -> dict[str, Any]:
    suppliers, items = await _performance(request, supplier_id)
    overall = suppliers.get(supplier_id)
    empty = {"orders": 0, "otif_rate": None, "on_time_rate": None, "in_full_rate": None,
             "lead_time_mean_days": None, "lead_time_std_days": None, "lead_time_samples": 0}
    return {"supplier_id": supplier_id, **(overall.to_dict() if overall else empty),
            "items": [{"sku": k, **p.to_dict()} for (_, k), p in sorted(items.items())]}


@router.get("/supplier/purchase-orders")
async def supplier_list(request: Request, who: Supplier, status: str | None = None) -> dict[str, Any]:
    async with _runtime(request).sessionmaker() as session:
        pos = await repo.list_pos(session, supplier_id=who.supplier_id or "\x00", status=status, sent_only=True)
    return {"items": [for_supplier(po) for po in pos if visible_to_supplier(po, who.supplier_id or "")]}


@router.get("/supplier/purchase-orders/{po_id}")
async def supplier_get(po_id: str, request: Request, who: Supplier) -> dict[str, Any]:
    async with _runtime(request).sessionmaker() as session:
        po = await repo.get_po(session, po_id)
    if po is None or not visible_to_supplier(po, who.supplier_id or ""):
        raise NotFound(po_id)
    return for_supplier(po)


@router.post("/supplier/purchase-orders/{po_id}/acknowledge")
async def supplier_acknowledge(po_id: str, body: AcknowledgeBody, request: Request,
                               who: Supplier) -> dict[str, Any]:
    po = await _change(request, po_id, single(
        acknowledge, promised_date=body.promised_date, lines=body.lines, actor=who.name),
        supplier_id=who.supplier_id or "")
    return for_supplier(po)


@router.post("/supplier/purchase-orders/{po_id}/ship")
async def supplier_ship(po_id: str, body: ShipBody, request: Request, who: Supplier) -> dict[str, Any]:
    po = await _change(request, po_id, single(
        ship, eta=body.eta, lines=body.lines, actor=who.name, tracking=body.tracking),
        supplier_id=who.supplier_id or "")
    return for_supplier(po)
