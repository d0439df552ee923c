"""Ingest's KPI read (docs/contract.md, extensions): data freshness over every source, on the wall clock (§8: feed
staleness is about the outside world)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.ingest import repository as repo
from shared.http.deps import Reader

router = APIRouter(prefix="/v1", tags=["kpis"])


class Freshness(BaseModel):
    """`max_arrival_age_s`: how long the quietest source has sent nothing; `stale`: sources past their cadence."""

    sources: int
    stale: int
    latest_event_at: datetime | None
    latest_arrival_at: datetime | None
    max_arrival_age_s: float | None
    min_arrival_age_s: float | None


class IngestKpis(BaseModel):
    freshness: Freshness


@router.get("/kpis", response_model=IngestKpis)
async def ingest_kpis(request: Request, _: Reader) -> dict:
    async with request.app.state.runtime.sessionmaker() as session:
        rows = await repo.all_sources(session)
    now = request.app.state.freshness_clock()
    ages = [(now - r.last_arrival_at).total_seconds() for r in rows if r.last_arrival_at is not None]
    return {"freshness": {
        "sources": len(rows), "stale": sum(1 for r in rows if r.stale),
        "latest_event_at": max((r.last_event_at for r in rows if r.last_event_at), default=None),
        "latest_arrival_at": max((r.last_arrival_at for r in rows if r.last_arrival_at), default=None),
        "max_arrival_age_s": max(ages, default=None), "min_arrival_age_s": min(ages, default=None)}}
