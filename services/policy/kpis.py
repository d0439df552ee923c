"""Reads behind policy's §11 figures: the ledger, counts and daily sales of the selected keys, by local day."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.policy.stock_days import KeyDays, StockTally, end_of_day_on_hand

# The selected keys with their location's time zone (an unknown zone name counts as UTC, as forecast does).
KEYS = """
WITH k AS (
  SELECT s.location, s.sku, COALESCE(z.name, 'UTC') AS tz, s.last_event_at
  FROM policy.stock s LEFT JOIN policy.locations loc ON loc.location = s.location
  LEFT JOIN pg_timezone_names z ON z.name = loc.data->>'timezone'
  WHERE (CAST(:location AS text) IS NULL OR s.location = :location) AND (CAST(:sku AS text) IS NULL OR s.sku = :sku)
)
"""
LATEST_DAY = KEYS + "SELECT max(CAST(k.last_event_at AT TIME ZONE k.tz AS date)) FROM k"
# Movements per window day; those before the window in one bucket (start − 1); the key's first day beside. One
# row per key with arrays: a row per key and day costs far more to hand to Python than the arrays do.
MOVES = KEYS + """
, m AS (SELECT l.location, l.sku, CAST(l.event_time AT TIME ZONE k.tz AS date) AS day, l.delta
        FROM policy.ledger l JOIN k ON k.location = l.location AND k.sku = l.sku),
g AS (SELECT location, sku, GREATEST(day, CAST(:start AS date) - 1) AS day, SUM(delta) AS delta, MIN(day) AS first
      FROM m WHERE day <= CAST(:end AS date) GROUP BY 1, 2, 3)
SELECT location, sku, array_agg(day) AS days, array_agg(delta) AS deltas, MIN(first) AS first FROM g GROUP BY 1, 2
"""
# Every count known (the latest on the stock row; all of them under the event clock), with the sum of the movements
# up to its instant: a movement at the count's instant is already in the count (handlers: "after the latest count").
ANCHORS = KEYS + """
, a AS (SELECT location, sku, count_at AS at, count_on_hand AS on_hand FROM policy.stock WHERE count_at IS NOT NULL
        UNION SELECT location, sku, count_at, on_hand FROM policy.counts)
SELECT a.location, a.sku, CAST(a.at AT TIME ZONE k.tz AS date) AS day,
  a.on_hand - COALESCE((SELECT SUM(l.delta) FROM policy.ledger l WHERE l.location = a.location AND l.sku = a.sku
                        AND l.event_time <= a.at), 0.0) AS offset
FROM a JOIN k ON k.location = a.location AND k.sku = a.sku ORDER BY a.location, a.sku, a.at
"""
SOLD = KEYS + """
SELECT d.location, d.sku, array_agg(d.day) AS days, array_agg(d.quantity) AS quantities FROM policy.daily_sales d
JOIN k ON k.location = d.location AND k.sku = d.sku WHERE d.day BETWEEN CAST(:start AS date) AND CAST(:end AS date)
GROUP BY 1, 2
"""
# The item's unit cost, else its primary (then any) supplier's; and what the position says now.
KEY_FACTS = KEYS + """
SELECT k.location, k.sku, p.status, CAST(p.data->>'on_hand' AS float8) AS on_hand,
  CAST(p.data->>'daily_demand' AS float8) AS daily_demand,
  COALESCE(CAST(i.data->>'unit_cost' AS float8), (SELECT CAST(si.data->>'unit_cost' AS float8)
    FROM policy.supplier_items si WHERE si.sku = k.sku AND si.data->>'unit_cost' IS NOT NULL
    ORDER BY si."primary" DESC, si.supplier_id LIMIT 1)) AS unit_cost
FROM k LEFT JOIN policy.positions p ON p.location = k.location AND p.sku = k.sku
LEFT JOIN policy.items i ON i.sku = k.sku
"""
LEVELS = """
SELECT day, status, reorder_point, order_up_to, safety_stock FROM policy.position_days
WHERE location = :location AND sku = :sku AND day <= CAST(:end AS date) ORDER BY day
"""


def _params(location: str | None, sku: str | None, span: tuple[date, date] | None = None) -> dict[str, Any]:
    start, end = span or (None, None)
    return {"location": location or None, "sku": sku or None, "start": start, "end": end}


async def latest_day(session: AsyncSession, location: str | None = None, sku: str | None = None) -> date | None:
    return (await session.execute(text(LATEST_DAY), _params(location, sku))).scalar_one()


async def key_days(session: AsyncSession, span: tuple[date, date], location: str | None,
                   sku: str | None) -> tuple[dict[tuple[str, str], KeyDays], dict[str, int], float]:
    """Each key's days, the positions by status, and the inventory value now (Σ max(on_hand, 0) × unit cost)."""
    params, start = _params(location, sku, span), span[0]
    keys: dict[tuple[str, str], KeyDays] = {}
    statuses: dict[str, int] = {}
    value = 0.0
    for r in await session.execute(text(KEY_FACTS), params):
        keys[(r.location, r.sku)] = KeyDays(r.location, r.sku, unit_cost=r.unit_cost, daily_demand=r.daily_demand)
        if r.status is not None:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        if r.unit_cost is not None and r.on_hand is not None:
            value += max(r.on_hand, 0.0) * r.unit_cost
    def key(r: Any) -> KeyDays:  # a key that arrived between these reads is counted, without cost
        return keys.setdefault((r.location, r.sku), KeyDays(r.location, r.sku))

    for r in await session.execute(text(MOVES), params):
        days = key(r)
        for day, delta in zip(r.days, r.deltas, strict=True):
            days.note_move(day, delta, r.first, start)
    for r in await session.execute(text(ANCHORS), params):
        key(r).note_anchor(r.day, r.offset)
    for r in await session.execute(text(SOLD), params):
        key(r).sold.update(zip(r.days, r.quantities, strict=True))
    return keys, statuses, value


async def stock_kpis(session: AsyncSession, span: tuple[date, date], location: str | None) -> dict[str, Any]:
    keys, statuses, value = await key_days(session, span, location, None)
    tally = StockTally()
    for key in keys.values():
        tally.add(key, end_of_day_on_hand(key, *span))
    figures = tally.figures((span[1] - span[0]).days + 1)
    return {"stock": {**figures, "inventory_value": value}, "positions_by_status": statuses}


async def position_history(session: AsyncSession, location: str, sku: str,
                           span: tuple[date, date]) -> list[dict[str, Any]]:
    """Per day: on-hand at its end, and the levels of the latest decision made on or before it."""
    keys, _, _ = await key_days(session, span, location, sku)
    key = keys.get((location, sku))
    if key is None:
        return []
    levels = (await session.execute(text(LEVELS), _params(location, sku, span))).all()
    out, i, current = [], 0, None
    for day, on_hand in end_of_day_on_hand(key, *span):
        while i < len(levels) and levels[i].day <= day:
            current, i = levels[i], i + 1
        out.append({"date": day, "on_hand": on_hand, "sold": key.sold.get(day, 0.0),
                    "status": current.status if current else None,
                    **{k: getattr(current, k) if current else None
                       for k in ("reorder_point", "order_up_to", "safety_stock")}})
    return out
