"""Policy's KPI and position-history reads (docs/contract.md, extensions): the console's overview and chart."""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.policy import kpis
from shared.http.deps import Reader
from shared.http.errors import ApiError
from shared.http.window import KpiWindow, WindowOut

router = APIRouter(prefix="/v1", tags=["kpis"])


class StockKpis(BaseModel):
    """CONTRACT §11's stock figures over the window's SKU-location-days (docs/policy.md, "KPIs")."""

    sku_location_days: int
    in_stock_days: int
    stockout_days: int
    in_stock_rate: float | None
    served: float
    estimated_lost_demand: float
    estimated_fill_rate: float | None
    cost_of_goods_sold: float
    mean_inventory_value: float
    turns: float | None
    keys_without_cost: int
    inventory_value: float


class PolicyKpis(BaseModel):
    window: WindowOut
    stock: StockKpis
    positions_by_status: dict[str, int]
    computed_at: datetime


class PositionDay(BaseModel):
    date: date
    on_hand: float
    sold: float
    status: str | None
    reorder_point: float | None
    order_up_to: float | None
    safety_stock: float | None


class PositionHistory(BaseModel):
    location: str
    sku: str
    window: WindowOut
    items: list[PositionDay]


CACHE_S = 60.0  # the figures move by the day; recomputing them for every overview would rescan the ledger


@router.get("/kpis", response_model=PolicyKpis)
async def policy_kpis(request: Request, _: Reader, window: KpiWindow, location: str | None = None) -> dict:
    """Cached for a minute per (days, end, location): the answer says when it was computed (`computed_at`)."""
    state = request.app.state
    if not hasattr(state, "kpi_cache"):
        state.kpi_cache, state.kpi_locks = {}, {}
    key = (window.days, window.end, location)
    # one computation per key at a time: callers that time out and ask again wait for it instead of piling up
    async with state.kpi_locks.setdefault(key, asyncio.Lock()):
        now = time.monotonic()
        if key in state.kpi_cache and now - state.kpi_cache[key][0] < CACHE_S:
            return state.kpi_cache[key][1]
        async with state.runtime.sessionmaker() as session:
            span = window.resolve(await kpis.latest_day(session, location))
            found = await kpis.stock_kpis(session, span, location) if span else {"stock": _nothing(),
                                                                                 "positions_by_status": {}}
        answer = {"window": window.out(span), **found, "computed_at": datetime.now(UTC)}
        state.kpi_cache[key] = (time.monotonic(), answer)
    return answer


def _nothing() -> dict:
    counts = ("sku_location_days", "in_stock_days", "stockout_days", "keys_without_cost")
    sums = ("served", "estimated_lost_demand", "cost_of_goods_sold", "mean_inventory_value", "inventory_value")
    return {**dict.fromkeys(counts, 0), **dict.fromkeys(sums, 0.0),
            **dict.fromkeys(("in_stock_rate", "estimated_fill_rate", "turns"))}


@router.get("/positions/{location}/{sku}/history", response_model=PositionHistory)
async def position_history(location: str, sku: str, request: Request, _: Reader, window: KpiWindow) -> dict:
    """On-hand at the end of each local day and the reorder point and order-up-to decided on or before it."""
    async with request.app.state.runtime.sessionmaker() as session:
        span = window.resolve(await kpis.latest_day(session, location, sku))
        items = await kpis.position_history(session, location, sku, span) if span else []
    if not items:
        raise ApiError(404, f"no stock history for {sku} at {location}")
    return {"location": location, "sku": sku, "window": window.out(span), "items": items}
