"""Notify HTTP API: alerts (list, get, ack, resolve), silences, PO emails. No SQL, no rules here."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from services.notify import handlers
from services.notify import repository as repo
from services.notify.domain import alert_labels
from services.notify.schemas import (
    AckRequest,
    Alert,
    ResolveRequest,
    SilenceRequest,
    alert_json,
    po_email_json,
    silence_json,
)
from shared.http.cursor import parse_time_cursor, time_cursor
from shared.http.deps import Ops, Reader
from shared.http.errors import ApiError
from shared.http.schemas import Page

router = APIRouter(prefix="/v1", tags=["alerts"])


def _runtime(request: Request):
    return request.app.state.runtime


async def _alert(request: Request, alert_id: str) -> dict:
    async with _runtime(request).uow() as uow:
        row = await repo.alert_row(uow.session, alert_id)
        if row is None:
            raise ApiError(404, f"no alert {alert_id}")
        log = await repo.deliveries_of(uow.session, [alert_id])
    return alert_json(row, log[alert_id], alert_labels(repo.to_state(row)))


@router.get("/alerts", response_model=Page[Alert])
async def list_alerts(request: Request, _: Reader,
                      status: Literal["firing", "acknowledged", "resolved"] | None = None,
                      severity: Literal["info", "warning", "critical"] | None = None,
                      type: str | None = None, sku: str | None = None, location: str | None = None,
                      supplier_id: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 500,
                      cursor: str | None = None) -> dict:
    """Newest fired first, `limit` per page; `next_cursor` (null on the last page) continues the listing."""
    filters = {"status": status, "severity": severity, "type": type, "sku": sku, "location": location,
               "supplier_id": supplier_id}
    async with _runtime(request).uow() as uow:
        rows = await repo.list_alerts(uow.session, filters, limit=limit, before=_after(cursor))
        log = await repo.deliveries_of(uow.session, [r["id"] for r in rows])
    last = rows[-1] if len(rows) == limit else None
    return {"items": [alert_json(r, log[r["id"]], alert_labels(repo.to_state(r))) for r in rows],
            "next_cursor": _cursor(last) if last else None}


def _cursor(row: Any) -> str:
    return time_cursor(row["last_fired_at"], row["id"])


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    """A previous page's next_cursor: `<last_fired_at ISO 8601>|<id>` of its last alert."""
    return parse_time_cursor(cursor)


@router.get("/alerts/{alert_id}", response_model=Alert)
async def get_alert(alert_id: str, request: Request, _: Reader) -> dict:
    return await _alert(request, alert_id)


@router.post("/alerts/{alert_id}/ack", response_model=Alert)
async def ack_alert(alert_id: str, request: Request, principal: Ops, body: AckRequest | None = None) -> dict:
    async with _runtime(request).uow() as uow:
        await handlers.acknowledge_alert(uow, alert_id, actor=principal.name, comment=body and body.comment)
    request.app.state.dispatcher.wake.set()
    return await _alert(request, alert_id)


@router.post("/alerts/{alert_id}/resolve", response_model=Alert)
async def resolve_alert(alert_id: str, request: Request, principal: Ops,
                        body: ResolveRequest | None = None) -> dict:
    async with _runtime(request).uow() as uow:
        await handlers.resolve_alert(uow, alert_id, actor=principal.name, comment=body and body.comment)
    request.app.state.dispatcher.wake.set()
    return await _alert(request, alert_id)


@router.post("/silences", status_code=201, tags=["silences"])
async def create_silence(body: SilenceRequest, request: Request, principal: Ops) -> dict:
    async with _runtime(request).uow() as uow:
        silence = await handlers.create_silence(uow, matchers=body.parsed(), starts_at=body.starts_at,
                                                ends_at=body.ends_at, reason=body.reason,
                                                created_by=principal.name)
    async with _runtime(request).uow() as uow:
        rows = [r for r in await repo.list_silences(uow.session) if r["id"] == silence.id]
    return silence_json(rows[0], handlers.utcnow())


@router.get("/silences", tags=["silences"])
async def list_silences(request: Request, _: Reader, include_expired: bool = False) -> dict:
    now = handlers.utcnow()
    async with _runtime(request).uow() as uow:
        rows = await repo.list_silences(uow.session, now=None if include_expired else now)
    return {"items": [silence_json(r, now) for r in rows]}


@router.delete("/silences/{silence_id}", status_code=204, tags=["silences"])
async def delete_silence(silence_id: str, request: Request, _: Ops) -> Response:
    async with _runtime(request).uow() as uow:
        await handlers.expire_silence(uow, silence_id)
    return Response(status_code=204)


@router.get("/po-emails", tags=["po-emails"])
async def list_po_emails(request: Request, _: Reader, po_id: str | None = None, status: str | None = None) -> dict:
    """Purchase orders mailed to suppliers (newest first): status, reason, attempts; not the attachment."""
    async with _runtime(request).uow() as uow:
        rows = await repo.list_po_emails(uow.session, po_id=po_id, status=status)
    return {"items": [po_email_json(r) for r in rows]}
