"""Orders' KPI read (docs/contract.md, extensions): supplier on-time-in-full over the POs sent in a window, by the
same rules as /v1/suppliers/performance (services/orders/domain/performance.py)."""
from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request
from pydantic import BaseModel

from services.orders import repository as repo
from services.orders.domain import by_supplier
from services.orders.domain.performance import Performance
from shared.http.deps import Reader
from shared.http.window import KpiWindow, WindowOut

router = APIRouter(prefix="/v1", tags=["kpis"])
ALL = "*"
NONE = Performance(orders=0, on_time=0, in_full=0, otif=0, lead_time_mean_days=None, lead_time_std_days=None,
                   lead_time_samples=0)


class SupplierKpis(BaseModel):
    """Every supplier together: `orders` evaluated POs sent in the window (received, cancelled after a receipt,
    or still open past their due date)."""

    orders: int
    otif_rate: float | None
    on_time_rate: float | None
    in_full_rate: float | None
    lead_time_mean_days: float | None
    lead_time_std_days: float | None
    lead_time_samples: int
    suppliers: int


class OrdersKpis(BaseModel):
    window: WindowOut
    suppliers: SupplierKpis


@router.get("/kpis", response_model=OrdersKpis)
async def orders_kpis(request: Request, _: Reader, window: KpiWindow) -> dict:
    now = request.app.state.orders_clock.now()  # due and late are judged in event time under the event clock
    start, end = span = window.resolve(now.date())
    async with request.app.state.runtime.sessionmaker() as session:
        pos = await repo.list_pos(session, supplier_id=None, sent_only=True, limit=100_000)
    sent = [po for po in pos if po.sent_at is not None and start <= po.sent_at.date() <= end]
    # one supplier "*" for all of them: the per-supplier rules, applied to the whole set
    together = by_supplier([dataclasses.replace(po, supplier_id=ALL) for po in sent], now).get(ALL)
    figures = (together or NONE).to_dict()
    return {"window": window.out(span), "suppliers": {**figures, "suppliers": len({po.supplier_id for po in sent})}}
