"""Bulk rows for the console benchmark, written straight into a scratch platform's tables: 10,000 positions with
the explanation a real decision stores, and 56 days of stock and sales behind each (what the KPIs scan)."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from shared.db.engine import make_engine

STATUSES = ("ok", "watch", "critical", "stockout", "overstock")
# The shape of a stored position (policy outputs.py): the contract's fields and an explanation of ~60 values.
EXPLANATION = {
    "inputs": {name: 1.0 for name in ("daily_demand", "demand_std", "lead_time_days", "lead_time_std_days",
                                      "review_days", "service_level", "z", "on_hand", "on_order", "backorder",
                                      "pack_size", "moq", "unit_cost", "holding_rate", "fixed_order_cost")},
    "formulas": {"safety_stock": "z · σ_D · √(L + R)", "reorder_point": "D · L + SS", "order_up_to": "ROP + D · R"},
    "numbers": {f"step_{i}": float(i) for i in range(30)},
    "decision": {"emitted": False, "reason": "IP 92 > ROP 70: no order"},
    "segment": {"abc": "B", "xyz": "Y", "pattern": "smooth"},
}

POSITIONS = """
INSERT INTO policy.positions (location, sku, status, as_of, data)
SELECT 'store-' || lpad(CAST(i % :stores AS text), 3, '0'), 'SKU-' || lpad(CAST(i AS text), 6, '0'),
  (CAST(:statuses AS text[]))[1 + i % 5], CAST(:now AS timestamptz),
  CAST(:template AS jsonb) || jsonb_build_object('sku', 'SKU-' || lpad(CAST(i AS text), 6, '0'),
    'location', 'store-' || lpad(CAST(i % :stores AS text), 3, '0'), 'status', (CAST(:statuses AS text[]))[1 + i % 5],
    'on_hand', 40 + i % 60, 'reorder_point', 70, 'order_up_to', 140, 'days_of_cover', 4 + i % 20,
    'projected_stockout_date', CAST(CAST(:today AS date) + (4 + i % 20) AS text))
FROM generate_series(0, :n - 1) i
ON CONFLICT DO NOTHING
"""
STOCK = """
INSERT INTO policy.stock (location, sku, count_on_hand, count_at, delta_since_count, last_event_at)
SELECT location, sku, CAST(substr(sku, 5) AS int) % 400, CAST(:start AS timestamptz), 0, CAST(:now AS timestamptz)
FROM policy.positions
ON CONFLICT DO NOTHING
"""
# One sale a day at noon per key (keys counted low sell out: the in-stock rate is not trivially 1), and the same
# as daily sales.
LEDGER = """
INSERT INTO policy.ledger (event_id, location, sku, event_time, delta)
SELECT p.sku || '/' || p.location || '/' || d, p.location, p.sku, CAST(:start AS timestamptz) + d * interval '1 day'
  + interval '12 hours', -(1 + (CAST(substr(p.sku, 5) AS int) + d) % 9)
FROM policy.positions p, generate_series(0, :days - 1) d ON CONFLICT DO NOTHING
"""
DAILY = """
INSERT INTO policy.daily_sales (location, sku, day, quantity)
SELECT location, sku, CAST(event_time AS date), -delta FROM policy.ledger ON CONFLICT DO NOTHING
"""
LEVELS = """
INSERT INTO policy.position_days (location, sku, day, as_of, status, on_hand, reorder_point, order_up_to,
  safety_stock)
SELECT p.location, p.sku, CAST(:today AS date) - 7 * w, CAST(:now AS timestamptz), p.status, 50, 60 + w, 130 + w, 20
FROM policy.positions p, generate_series(0, 7) w ON CONFLICT DO NOTHING
"""
ITEMS = """
INSERT INTO policy.items (sku, data) SELECT sku, jsonb_build_object('sku', sku, 'unit_cost', 2.5)
FROM policy.positions ON CONFLICT DO NOTHING
"""
# The one SKU page measured: its forecast and 56 days of demand on forecast's side.
FORECAST = """
INSERT INTO forecast.series (location, sku, first_day, last_day, last_arrival_at)
VALUES (:location, :sku, CAST(:first AS date), CAST(:today AS date), CAST(:now AS timestamptz)) ON CONFLICT DO NOTHING;
INSERT INTO forecast.daily_demand (location, sku, day, quantity, stockout)
SELECT :location, :sku, CAST(:first AS date) + d, 5 + d % 4, false FROM generate_series(0, :days - 1) d
ON CONFLICT DO NOTHING;
INSERT INTO forecast.forecasts (location, sku, as_of, generated_at, payload)
VALUES (:location, :sku, CAST(:today AS date), CAST(:now AS timestamptz), CAST(:payload AS jsonb))
ON CONFLICT DO NOTHING
"""


def forecast_payload(location: str, sku: str, today: date, now: datetime) -> dict:
    horizon = [{"date": (today + timedelta(days=i + 1)).isoformat(), "mean": 6.5, "p10": 4.0, "p50": 6.0,
                "p90": 9.0} for i in range(28)]
    return {"sku": sku, "location": location, "model": "ets", "demand_class": "smooth", "as_of": today.isoformat(),
            "generated_at": now.isoformat(), "horizon": horizon, "accuracy": {"wape": 0.3, "mase": 0.8, "bias": 0.0}}


async def seed(database_url: str, *, positions: int, stores: int, days: int) -> dict:
    now = datetime.now(UTC).replace(microsecond=0)
    today, start = now.date(), now - timedelta(days=days)
    common = {"now": now, "today": today, "start": start, "days": days}
    location, sku = "store-000", "SKU-000000"
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(POSITIONS), {**common, "n": positions, "stores": stores,
                                                 "statuses": list(STATUSES),
                                                 "template": json.dumps({"explanation": EXPLANATION})})
            for statement in (STOCK, LEDGER, DAILY, LEVELS, ITEMS):
                await conn.execute(text(statement), common)
            for statement in FORECAST.split(";\n"):
                await conn.execute(text(statement), {**common, "location": location, "sku": sku,
                                                     "first": today - timedelta(days=days - 1),
                                                     "payload": json.dumps(forecast_payload(location, sku, today,
                                                                                            now))})
            counted = (await conn.execute(text("SELECT count(*) FROM policy.positions"))).scalar_one()
            moves = (await conn.execute(text("SELECT count(*) FROM policy.ledger"))).scalar_one()
    finally:
        await engine.dispose()
    return {"positions": counted, "ledger_rows": moves, "sku_page": f"/positions/{location}/{sku}"}
