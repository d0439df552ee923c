"""Ingest's HTTP doors: the JSON batch, CSV upload, per-source mappings, sources, the quarantine, quality."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.ingest import freshness, handlers
from services.ingest import repository as repo
from services.ingest.domain.csv_door import parse_csv
from services.ingest.domain.freshness import expected_cadence
from services.ingest.domain.jsontext import NotJson, parse_json
from services.ingest.domain.mapping import SourceMapping, validate_mapping
from services.ingest.domain.mapping_apply import apply_mapping
from services.ingest.domain.outcomes import Unreadable
from services.ingest.domain.storable import needs_escape
from services.ingest.quality import quality_report
from shared.auth.principals import Principal
from shared.http.deps import READERS, Ingester, Planner, Reader, require
from shared.http.errors import ApiError

MAX_EVENTS = 10_000
MAX_BODY_BYTES = 64 * 1024 * 1024
# The batch doors take up to MAX_BODY_BYTES (the shared guard counts while the body streams in, before the
# token is checked); every other route keeps the shared app's smaller default.
BATCH_DOORS = re.compile(r"/v1/events(\.csv)?|/v1/sources/.+/events")

router = APIRouter(prefix="/v1", tags=["ingest"])
# Feeds read their own mapping and configure their cadence; planners own the mapping itself.
FeedReader = Annotated[Principal, Depends(require(*READERS, "ingest"))]
FeedAdmin = Annotated[Principal, Depends(require("ingest", "planner", "admin"))]


async def _body(request: Request) -> bytearray:
    """The body, gathered in one buffer (no list of chunks joined into a second copy)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:  # the shared guard stops it first; this keeps the door honest alone
            raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return body


def _json(body: bytes | bytearray) -> Any:
    try:
        return parse_json(body)
    except NotJson as exc:
        raise ApiError(400, f"body is not JSON: {exc}") from exc


async def _ingest(request: Request, items: list[Any], *, door: str, originals: list[Any] | None = None,
                  source: str | None = None) -> dict[str, Any]:
    if len(items) > MAX_EVENTS:
        raise ApiError(413, f"at most {MAX_EVENTS} events per batch, got {len(items)}")
    state = request.app.state
    now = datetime.now(UTC)
    async with state.runtime.uow() as uow:
        done = await handlers.ingest_records(uow, state.master_cache, items, now, door=door, originals=originals,
                                             source=source)
        # Last before commit, so the source row lock is held only for the commit; the counters commit
        # with the batch they count (a separate transaction cost a session and a commit per request).
        await freshness.note_arrivals(uow, done.tallies, now)
    await after_commit(state, done)
    return done.response


async def after_commit(state: Any, done: handlers.Ingested) -> None:
    if done.published:
        state.runtime.wake.set()  # the relay sleeps until woken (or its idle timeout)
    if done.response["pending"]:
        async with state.runtime.uow() as uow:
            await handlers.settle_pending(uow, state.master_cache, done)


@router.post("/events")
async def post_events(request: Request, _: Ingester) -> dict[str, Any]:
    """A JSON array of at most 10,000 canonical events (docs/contract.md §3)."""
    events = _json(await _body(request))
    if not isinstance(events, list):
        raise ApiError(400, "body must be a JSON array of events")
    return await _ingest(request, events, door="events")


@router.post("/events.csv")
async def post_events_csv(request: Request, _: Ingester,
                          type: Annotated[str, Query(description="event type of every row")],
                          source: Annotated[str | None, Query(description="source when no column")] = None,
                          ) -> dict[str, Any]:
    """CSV rows of one event type: header = data fields plus id, source, time. Codes stay text."""
    # A byte that is not UTF-8 becomes a lone surrogate (surrogateescape): it fails its own row, not the file.
    text = (await _body(request)).decode("utf-8", "surrogateescape")
    parsed = parse_csv(text, type.strip(), source=source)
    if isinstance(parsed, list):
        raise ApiError(422 if parsed and parsed[0].startswith("type:") else 400, "CSV cannot be read",
                       details=parsed)
    return await _ingest(request, parsed.records, door="csv")


def _mapping_view(row: Any) -> dict[str, Any]:
    return {"source": row.source, "version": row.version, "mapping": row.mapping,
            "updated_at": row.updated_at.isoformat(), "updated_by": row.updated_by}


@router.put("/sources/{source:path}/mapping")
async def put_mapping(source: str, request: Request, who: Planner) -> dict[str, Any]:
    """Declarative mapping for a feed that cannot send §3 events (docs/mappings/README.md); versioned."""
    raw = _json(await _body(request))
    if isinstance(raw, dict) and "source" not in raw and "source" not in (raw.get("fields") or {}):
        raw["source"] = source  # the URL names the source unless the mapping takes it from the records
    checked = validate_mapping(raw)
    if isinstance(checked, list):
        raise ApiError(422, f"mapping for {source} is not valid", details=checked)
    if needs_escape(checked.model_dump(mode="python", by_alias=True, exclude_none=True)):
        raise ApiError(422, f"mapping for {source} is not valid",
                       details=["mapping: must not hold NUL, unpaired surrogates or non-finite numbers"])
    async with request.app.state.runtime.uow() as uow:
        await repo.save_mapping(uow.session, source, checked.model_dump(mode="json", by_alias=True,
                                                                        exclude_none=True), who.name)
        row = await repo.latest_mapping(uow.session, source)
    return _mapping_view(row)


@router.get("/sources/{source:path}/mapping")
async def get_mapping(source: str, request: Request, _: FeedReader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        row = await repo.latest_mapping(session, source)
    if row is None:
        raise ApiError(404, f"no mapping configured for source {source}")
    return _mapping_view(row)


async def current_mapping(request: Request, source: str) -> SourceMapping:
    async with request.app.state.runtime.sessionmaker() as session:
        row = await repo.latest_mapping(session, source)
    if row is None:
        raise ApiError(409, f"no mapping configured for source {source}: PUT /v1/sources/{source}/mapping first")
    mapping = validate_mapping(row.mapping)
    assert isinstance(mapping, SourceMapping)  # stored mappings were validated when saved
    return mapping if mapping.source else mapping.model_copy(update={"source": source})


def mapped(mapping: SourceMapping, records: list[Any]) -> list[dict[str, Any] | Unreadable]:
    out: list[dict[str, Any] | Unreadable] = []
    for index, record in enumerate(records):
        event = apply_mapping(mapping, record)
        out.append(Unreadable([f"record {index}: {e}" for e in event]) if isinstance(event, list) else event)
    return out


@router.post("/sources/{source:path}/events")
async def post_source_events(source: str, request: Request, _: Ingester) -> dict[str, Any]:
    """The feed's native JSON (an array, or {"records": [...]}) through its mapping, then the batch path."""
    body = _json(await _body(request))
    records = body.get("records") if isinstance(body, dict) else body
    if not isinstance(records, list):
        raise ApiError(400, 'body must be a JSON array of records or {"records": [...]}')
    if len(records) > MAX_EVENTS:
        raise ApiError(413, f"at most {MAX_EVENTS} records per batch, got {len(records)}")
    mapping = await current_mapping(request, source)
    return await _ingest(request, mapped(mapping, records), door="mapping", originals=records,
                         source=source)


class SourceConfig(BaseModel):
    expected_cadence_seconds: float | None = Field(default=None, gt=0, le=366 * 86400)


def _source_view(row: Any) -> dict[str, Any]:
    state = freshness.source_state(row)
    cadence = expected_cadence(state)
    return {"source": row.source, "accepted": row.accepted, "duplicates": row.duplicates,
            "rejected": row.rejected, "stale": bool(row.stale),
            "configured_cadence_seconds": row.configured_cadence_s,
            "expected_cadence_seconds": cadence.total_seconds() if cadence else None,
            "last_event_at": row.last_event_at.isoformat() if row.last_event_at else None,
            "last_arrival_at": row.last_arrival_at.isoformat() if row.last_arrival_at else None}


@router.put("/sources/{source:path}")
async def put_source(source: str, body: SourceConfig, request: Request, _: FeedAdmin) -> dict[str, Any]:
    """Configure a source's expected cadence (null: learn it from arrivals)."""
    async with request.app.state.runtime.uow() as uow:
        row = await freshness.configure_source(uow, source, body.expected_cadence_seconds)
        return _source_view(row)


@router.get("/sources")
async def list_sources(request: Request, _: FeedReader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await repo.all_sources(session)
    return {"items": [_source_view(r) for r in rows]}


@router.get("/quality")
async def get_quality(request: Request, _: Reader, days: Annotated[int, Query(ge=1, le=366)] = 56,
                      k: Annotated[float, Query(gt=0, le=100)] = 4.0) -> dict[str, Any]:
    """What a planner checks before trusting a forecast (see docs/ingest.md)."""
    async with request.app.state.runtime.sessionmaker() as session:
        return await quality_report(session, datetime.now(UTC), days=days, k=k)
