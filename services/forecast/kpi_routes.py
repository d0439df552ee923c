"""Forecast's KPI and history reads (docs/contract.md, extensions): what the console's overview and chart show."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.forecast import kpis
from shared.http.deps import Reader
from shared.http.errors import ApiError
from shared.http.window import KpiWindow, WindowOut

router = APIRouter(prefix="/v1", tags=["kpis"])


class Accuracy(BaseModel):
    days: int
    actual: float
    forecast: float
    wape: float | None
    bias: float | None


class ForecastKpis(Accuracy):
    """WAPE and bias of the forecasts made before each day, over the window's uncensored days."""

    window: WindowOut
    by_class: dict[str, Accuracy]


class DemandDay(BaseModel):
    date: date
    quantity: float
    stockout: bool
    forecast_mean: float | None


class DemandHistory(BaseModel):
    location: str
    sku: str
    window: WindowOut
    items: list[DemandDay]


@router.get("/kpis", response_model=ForecastKpis)
async def forecast_kpis(request: Request, _: Reader, window: KpiWindow, location: str | None = None) -> dict:
    async with request.app.state.runtime.sessionmaker() as session:
        span = window.resolve(await kpis.latest_day(session, location))
        found = await kpis.accuracy(session, *span, location) if span else kpis.scores(0, 0, 0, 0) | {
            "by_class": {}}
    return {**found, "window": window.out(span)}


@router.get("/forecasts/{location}/{sku}/history", response_model=DemandHistory)
async def demand_history(location: str, sku: str, request: Request, _: Reader, window: KpiWindow) -> dict:
    """Daily demand (sales net of returns, per local day) with its stockout flag and the forecast mean made for
    that day before it began; days before the series' first day are not listed."""
    async with request.app.state.runtime.sessionmaker() as session:
        span = window.resolve(await kpis.latest_day(session, location, sku))
        if span is None:
            raise ApiError(404, f"no sales history for {sku} at {location}")
        items = await kpis.history(session, location, sku, *span)
    return {"location": location, "sku": sku, "window": window.out(span), "items": items}
