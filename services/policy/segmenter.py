"""Background segmentation: ABC by value, XYZ and ADI/CV² by variability over stored daily sales."""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select

from services.policy.domain.segmentation import abc_classes, demand_pattern, xyz_classes
from services.policy.models import daily_sales, items, segments, stock
from services.policy.repository import upsert_many
from services.policy.settings import PolicySettings, policy_settings
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)
DAYS_PER_YEAR = 365.0


def classify(keys: list[tuple[str, str]], matrix: np.ndarray, unit_costs: np.ndarray,
             cutoffs: tuple[float, float]) -> list[dict]:
    """Rows of the segments table for a (days × keys) demand matrix; value = annualised demand × unit cost.
    ABC ranks the SKUs within each location (a store's A items are what sells there); XYZ and the
    ADI/CV² pattern are per series."""
    if not keys:
        return []
    days = matrix.shape[0]
    annual_value = matrix.sum(axis=0) * unit_costs * (DAYS_PER_YEAR / max(days, 1))
    abc = np.empty(len(keys), dtype="<U1")
    where = np.array([loc for loc, _ in keys])
    for loc in np.unique(where):
        members = np.flatnonzero(where == loc)
        abc[members] = abc_classes(annual_value[members], cutoffs)
    xyz = xyz_classes(matrix)
    pattern = demand_pattern(matrix)
    return [{"location": loc, "sku": sku, "abc": str(abc[i]), "xyz": str(xyz[i]), "pattern": str(pattern[i]),
             "annual_value": float(annual_value[i])} for i, (loc, sku) in enumerate(keys)]


async def _load(uow: UnitOfWork, since: date, until: date) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    rows = (await uow.session.execute(select(daily_sales.c.location, daily_sales.c.sku, daily_sales.c.day,
                                             daily_sales.c.quantity).where(daily_sales.c.day >= since,
                                                                           daily_sales.c.day <= until))).all()
    keys = sorted({(r.location, r.sku) for r in rows})
    index = {k: i for i, k in enumerate(keys)}
    matrix = np.zeros(((until - since).days + 1, len(keys)))
    for r in rows:
        matrix[(r.day - since).days, index[(r.location, r.sku)]] += r.quantity
    costs = {r.sku: (r.data or {}).get("unit_cost") for r in (await uow.session.execute(select(items))).all()}
    unit_costs = np.array([float(costs.get(sku) or 1.0) for _, sku in keys])  # unknown cost: rank by units
    return keys, matrix, unit_costs


async def segment_once(uow: UnitOfWork, cfg: PolicySettings, *, until: date | None = None,
                       now: datetime | None = None) -> int:
    """Recompute every SKU-location's classes over the window of stored sales ending `until`
    (default: the last sale day stored, i.e. event time)."""
    until = until or (await uow.session.execute(select(func.max(daily_sales.c.day)))).scalar_one()
    if until is None:
        return 0
    keys, matrix, costs = await _load(uow, until - timedelta(days=cfg.segment_window_days - 1), until)
    rows = classify(keys, matrix, costs, cfg.abc_cutoffs)
    stamp = now or datetime.now(UTC)
    await upsert_many(uow.session, segments, [r | {"computed_at": stamp} for r in rows])
    return len(rows)


async def sales_changed(uow: UnitOfWork, since: datetime | None) -> tuple[int, datetime | None]:
    """SKU-locations with a sale (event time) after `since`, and the newest sale time: a cheap change signal
    over the stock table instead of counting the (large) daily sales table."""
    newest = func.max(stock.c.last_sale_at)
    query = select(func.count(), newest).where(stock.c.last_sale_at.is_not(None))
    if since is not None:
        query = query.where(stock.c.last_sale_at > since)
    count, latest = (await uow.session.execute(query)).one()
    return int(count), latest or since


async def run(runtime, stop: asyncio.Event) -> None:
    """Reclassify every `segment_interval_s` (wall clock) when sales came in, or sooner once
    `segment_min_changes` SKU-locations have new sales."""
    cfg = policy_settings()
    seen: datetime | None = None
    last = None
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        async with runtime.uow() as uow:
            changed, newest = await sales_changed(uow, seen)
        due = last is None or loop.time() - last >= cfg.segment_interval_s or changed >= cfg.segment_min_changes
        if changed and due:
            async with runtime.uow() as uow:
                n = await segment_once(uow, cfg)
            seen, last = newest, loop.time()
            log.info("segmented %d SKU-locations", n)
        try:
            await asyncio.wait_for(stop.wait(), timeout=min(cfg.segment_interval_s, 10.0))
        except TimeoutError:
            pass
