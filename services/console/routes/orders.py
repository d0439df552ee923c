"""Purchase orders by status with approve and reject (a reason), their lines and audit trail; suppliers."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request

from services.console.web import Post, Refused, SignedIn, back_to, render, upstream

router = APIRouter()
PO_STATUSES = ("pending_approval", "proposed", "approved", "sent", "acknowledged", "shipped",
               "partially_received", "received", "rejected", "cancelled")


@router.get("/purchase-orders")
async def purchase_orders(request: Request, session: SignedIn, status: str = "", supplier_id: str = ""):
    reply = await upstream(request).get("orders", "/v1/purchase-orders", session.token,
                                        status=status if status in PO_STATUSES else None,
                                        supplier_id=supplier_id.strip() or None, limit=200)
    return render(request, "purchase_orders.html", session, items=reply.items(), statuses=PO_STATUSES,
                  problem=None if reply.ok else reply.message,
                  filters={"status": status, "supplier_id": supplier_id})


@router.get("/purchase-orders/{po_id}")
async def purchase_order(request: Request, session: SignedIn, po_id: str):
    reply = await upstream(request).get("orders", f"/v1/purchase-orders/{quote(po_id, safe='')}", session.token)
    if reply.status == 404:
        raise Refused(404, "not_found")
    if not reply.ok:
        raise Refused(502, "refused", why=reply.message)
    return render(request, "purchase_order.html", session, po=reply.body, may_act=session.may("approver"))


async def _decide(request: Request, post: Post, po_id: str, action: str, body: dict):
    if not post.session.may("approver"):
        raise Refused(403, "not_allowed")
    path = f"/v1/purchase-orders/{quote(po_id, safe='')}/{action}"
    reply = await upstream(request).post("orders", path, post.session.token, body)
    if not reply.ok:
        raise Refused(reply.status if reply.status in (403, 404, 409, 422) else 502, "refused", why=reply.message)
    return back_to(f"/purchase-orders/{quote(po_id, safe='')}")


@router.post("/purchase-orders/{po_id}/approve")
async def approve(request: Request, post: Post, po_id: str):
    return await _decide(request, post, po_id, "approve", {"reason": post.form.get("reason", "").strip()[:2000]})


@router.post("/purchase-orders/{po_id}/reject")
async def reject(request: Request, post: Post, po_id: str):
    reason = post.form.get("reason", "").strip()[:2000]
    if not reason:
        raise Refused(422, "refused", why="a reason is required")
    return await _decide(request, post, po_id, "reject", {"reason": reason})


@router.get("/suppliers")
async def suppliers(request: Request, session: SignedIn):
    reply = await upstream(request).get("orders", "/v1/suppliers/performance", session.token)
    rows = reply.body.get("by_supplier", []) if reply.ok and isinstance(reply.body, dict) else []
    return render(request, "suppliers.html", session, items=rows, problem=None if reply.ok else reply.message)
