"""Ingest's HTTP doors: the JSON batch, CSV upload, the quarantine."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.ingest import handlers
from services.ingest import repository as repo
from services.ingest.csvdoor import parse_csv
from shared.http.deps import Ingester, Planner, Reader
from shared.http.errors import ApiError

MAX_EVENTS = 10_000
MAX_BODY_BYTES = 64 * 1024 * 1024

router = APIRouter(prefix="/v1", tags=["ingest"])


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return body


async def _ingest(request: Request, events: list[Any]) -> dict[str, Any]:
    if len(events) > MAX_EVENTS:
        raise ApiError(413, f"at most {MAX_EVENTS} events per batch, got {len(events)}")
    state = request.app.state
    async with state.runtime.uow() as uow:
        result = await handlers.ingest_batch(uow, state.master_cache, events, datetime.now(UTC))
    return result.as_dict()


@router.post("/events")
async def post_events(request: Request, _: Ingester) -> dict[str, Any]:
    """A JSON array of at most 10,000 canonical events (CONTRACT §3)."""
    body = await _body(request)
    try:
        events = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"body is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(events, list):
        raise ApiError(400, "body must be a JSON array of events")
    return await _ingest(request, events)


@router.post("/events.csv")
async def post_events_csv(request: Request, _: Ingester,
                          type: Annotated[str, Query(description="event type of every row")]) -> dict[str, Any]:
    """CSV rows of one event type: header = data fields plus id, source, time."""
    body = await _body(request)
    events, problems = parse_csv(body, type)
    if problems:
        raise ApiError(400, "CSV cannot be read", details=problems)
    return await _ingest(request, events)


@router.get("/quarantine")
async def list_quarantine(request: Request, _: Reader, status: str | None = None, reason: str | None = None,
                          source: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                          cursor: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await repo.list_quarantine(session, status=status, reason=reason, source=source,
                                          after_id=cursor, limit=limit)
    items = [_quarantine_view(r) for r in rows]
    return {"items": items, "next_cursor": items[-1]["id"] if len(items) == limit else None}


def _quarantine_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "source": row.source, "event_id": row.event_id, "type": row.type,
            "time": row.event_time.isoformat() if row.event_time else None, "status": row.status,
            "reason": row.reason, "errors": row.errors, "event": row.raw,
            "created_at": row.created_at.isoformat(), "resolved_by": row.resolved_by, "note": row.note}


class DismissRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/quarantine/{qid}/dismiss")
async def dismiss(qid: int, body: DismissRequest, request: Request, who: Planner) -> dict[str, Any]:
    async with request.app.state.runtime.uow() as uow:
        row = await repo.get_quarantined(uow.session, qid)
        if row is None:
            raise ApiError(404, f"no quarantined event {qid}")
        if row.status not in ("pending", "rejected"):
            raise ApiError(409, f"event is already {row.status}")
        await repo.resolve_quarantined(uow.session, [qid], status="dismissed", by=who.name, note=body.reason)
    return {"id": qid, "status": "dismissed"}


@router.post("/quarantine/{qid}/retry")
async def retry(qid: int, request: Request, who: Planner) -> dict[str, Any]:
    """Run a quarantined event through ingest again (after master data or a mapping was fixed)."""
    state = request.app.state
    async with state.runtime.uow() as uow:
        row = await repo.get_quarantined(uow.session, qid)
        if row is None:
            raise ApiError(404, f"no quarantined event {qid}")
        if row.status not in ("pending", "rejected"):
            raise ApiError(409, f"event is already {row.status}")
        await repo.resolve_quarantined(uow.session, [qid], status="processed", by=who.name, note="retried")
        if row.status == "pending":  # it passed dedupe once already: forget that so it can pass again
            await repo.forget_received(uow.session, row.source, row.event_id)
        result = await handlers.ingest_batch(uow, state.master_cache, [row.raw], datetime.now(UTC))
    return {"id": qid, "result": result.as_dict()}


@router.get("/sources")
async def list_sources(request: Request, _: Reader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await repo.all_sources(session)
    return {"items": [_source_view(r) for r in rows]}


def _source_view(row: Any) -> dict[str, Any]:
    return {"source": row.source, "accepted": row.accepted, "duplicates": row.duplicates,
            "rejected": row.rejected, "stale": bool(row.stale), "cadence_s": row.cadence_s,
            "last_event_at": row.last_event_at.isoformat() if row.last_event_at else None,
            "last_arrival_at": row.last_arrival_at.isoformat() if row.last_arrival_at else None}
