"""Notify's KPI read (docs/contract.md, extensions): what the console's overview shows about alerts."""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.notify import kpis
from shared.http.deps import Reader
from shared.http.window import KpiWindow, WindowOut

router = APIRouter(prefix="/v1", tags=["kpis"])


class Percentiles(BaseModel):
    p50: float | None
    p90: float | None
    count: int


class AlertKpis(BaseModel):
    """`precision` stays null with `precision_status` "not_measured" until alert outcomes are measured."""

    fired: int
    time_to_acknowledge_s: Percentiles
    precision: float | None
    precision_status: str


class NotifyKpis(BaseModel):
    window: WindowOut
    alerts: AlertKpis


@router.get("/kpis", response_model=NotifyKpis)
async def notify_kpis(request: Request, _: Reader, window: KpiWindow, location: str | None = None) -> dict:
    async with request.app.state.runtime.sessionmaker() as session:
        span = window.resolve(await kpis.latest_day(session))
        found = await kpis.alert_kpis(session, span, location) if span else kpis.summary(0, [])
    return {"window": window.out(span), "alerts": found}
