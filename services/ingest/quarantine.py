"""The quarantine API: list and filter what was rejected or waits, retry it, or dismiss it with a reason."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.ingest import freshness, handlers
from services.ingest import repository as repo
from services.ingest.domain.storable import ESCAPED_NOTE
from services.ingest.repository import QuarantineFilter
from services.ingest.routes import after_commit, current_mapping, mapped
from shared.http.deps import Planner, Reader
from shared.http.errors import ApiError

STATUSES = ("pending", "rejected", "processed", "retried", "dismissed")
OPEN = ("pending", "rejected")

router = APIRouter(prefix="/v1", tags=["quarantine"])


def _view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "source": row.source, "event_id": row.event_id, "type": row.type,
            "time": row.event_time.isoformat() if row.event_time else None, "status": row.status,
            "reason": row.reason, "errors": row.errors, "door": row.door, "event": row.raw,
            "created_at": row.created_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
            "resolved_by": row.resolved_by, "note": row.note}


@router.get("/quarantine")
async def list_quarantine(request: Request, _: Reader, status: str | None = None, reason: str | None = None,
                          source: str | None = None, type: str | None = None,
                          since: datetime | None = None, until: datetime | None = None,
                          limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                          cursor: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Oldest first; `since`/`until` bound the arrival time; page with `cursor` = the last `next_cursor`."""
    if status is not None and status not in STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(STATUSES)}")
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise ApiError(422, f"{name}: timezone required")
    where = QuarantineFilter(status, reason, source, type, since, until)
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await repo.list_quarantine(session, where, after_id=cursor, limit=limit)
    items = [_view(r) for r in rows]
    return {"items": items, "next_cursor": items[-1]["id"] if len(items) == limit else None}


@router.get("/quarantine/{qid}")
async def get_quarantined(qid: int, request: Request, _: Reader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        row = await repo.get_quarantined(session, qid)
    if row is None:
        raise ApiError(404, f"no quarantined event {qid}")
    return _view(row)


class DismissRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


async def _open(uow: Any, qid: int) -> Any:
    row = await repo.get_quarantined(uow.session, qid)
    if row is None:
        raise ApiError(404, f"no quarantined event {qid}")
    if row.status not in OPEN:
        raise ApiError(409, f"event {qid} is already {row.status}")
    return row


def _retriable(row: Any) -> None:
    """An entry kept escaped is not what was sent: retrying the escaped text would ingest something else."""
    if ESCAPED_NOTE in (row.errors or []):
        raise ApiError(409, f"event {row.id} held bytes that cannot be stored and is kept escaped; "
                            "resend it corrected instead of retrying it")


@router.post("/quarantine/{qid}/dismiss")
async def dismiss(qid: int, body: DismissRequest, request: Request, who: Planner) -> dict[str, Any]:
    """Give up on an event on purpose; it stays listed (status dismissed) with who and why."""
    async with request.app.state.runtime.uow() as uow:
        row = await _open(uow, qid)
        if row.status == "pending":  # it never took effect: a corrected resend must not count as duplicate
            await repo.forget_received(uow.session, row.source, row.event_id)
        await repo.resolve_quarantined(uow.session, [qid], status="dismissed", by=who.name, note=body.reason)
    return {"id": qid, "status": "dismissed", "resolved_by": who.name, "note": body.reason}


@router.post("/quarantine/{qid}/retry")
async def retry(qid: int, request: Request, who: Planner) -> dict[str, Any]:
    """Run the event through ingest again (after master data or the mapping was fixed).

    The entry becomes `retried`; if it fails again the new attempt is a new quarantine entry.
    """
    state = request.app.state
    now = datetime.now(UTC)
    async with state.runtime.uow() as uow:
        row = await _open(uow, qid)
        _retriable(row)
        if row.status == "pending":  # it passed dedupe once already: release that claim so it can pass again
            await repo.forget_received(uow.session, row.source, row.event_id)
        items = mapped(await current_mapping(request, row.source), [row.raw]) if row.door == "mapping" \
            else [row.raw]
        await repo.resolve_quarantined(uow.session, [qid], status="retried", by=who.name, note="retried")
        done = await handlers.ingest_records(uow, state.master_cache, items, now, door=row.door,
                                             originals=[row.raw], source=row.source)
        await freshness.note_arrivals(uow, done.tallies, now)
    await after_commit(state, done)
    return {"id": qid, "status": "retried", "result": done.response}
