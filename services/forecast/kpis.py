"""Forecast's §11 figures from its own tables: WAPE and bias of past forecasts on uncensored days, by demand class,
and one series' daily demand beside the forecast made for each day (the console's chart)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# A day is scored against the latest forecast made before it (as payload.live_accuracy scores a series): the
# forecast_log row with the greatest as_of < day, its means[day - as_of - 1]. Stockout days are censored (the
# demand is unknown), so they are not scored; a day without a sale is a zero-demand day.
SCORED_DAYS = """
WITH s AS (
  SELECT se.location, se.sku, COALESCE(f.payload->>'demand_class', 'unknown') AS cls,
    GREATEST(se.first_day, CAST(:start AS date)) AS lo, LEAST(se.last_day, CAST(:end AS date)) AS hi
  FROM forecast.series se LEFT JOIN forecast.forecasts f ON f.location = se.location AND f.sku = se.sku
  WHERE (CAST(:location AS text) IS NULL OR se.location = :location)
    AND (CAST(:sku AS text) IS NULL OR se.sku = :sku)
), d AS (
  SELECT s.location, s.sku, s.cls, CAST(g AS date) AS day FROM s, generate_series(s.lo, s.hi, interval '1 day') g
)
SELECT d.location, d.sku, d.cls, d.day, COALESCE(dd.quantity, 0.0) AS actual, COALESCE(dd.stockout, false) AS stockout,
  fc.mean
FROM d
LEFT JOIN forecast.daily_demand dd ON dd.location = d.location AND dd.sku = d.sku AND dd.day = d.day
LEFT JOIN LATERAL (
  SELECT CAST(l.means->>(d.day - l.as_of - 1) AS float8) AS mean FROM forecast.forecast_log l
  WHERE l.location = d.location AND l.sku = d.sku AND l.as_of < d.day AND l.as_of >= d.day - 28
  ORDER BY l.as_of DESC LIMIT 1) fc ON true
"""

ACCURACY = f"""
SELECT cls, count(*) AS days, SUM(ABS(actual - mean)) AS abs_error, SUM(actual) AS actual, SUM(mean) AS forecast
FROM ({SCORED_DAYS}) x WHERE NOT stockout AND mean IS NOT NULL GROUP BY cls ORDER BY cls
"""

HISTORY = f"SELECT day, actual, stockout, mean FROM ({SCORED_DAYS}) x ORDER BY day"


def _params(start: date, end: date, location: str | None, sku: str | None) -> dict[str, Any]:
    return {"start": start, "end": end, "location": location or None, "sku": sku or None}


async def latest_day(session: AsyncSession, location: str | None = None, sku: str | None = None) -> date | None:
    return (await session.execute(text(
        "SELECT max(last_day) FROM forecast.series WHERE (CAST(:location AS text) IS NULL OR location = :location) "
        "AND (CAST(:sku AS text) IS NULL OR sku = :sku)"), {"location": location or None, "sku": sku or None})
    ).scalar_one()


def scores(days: int, abs_error: float, actual: float, forecast: float) -> dict[str, Any]:
    """WAPE = Σ|a − f| / Σa and bias = (Σf − Σa) / Σa (docs/forecast.md); None while nothing was sold."""
    return {"days": int(days), "actual": float(actual), "forecast": float(forecast),
            "wape": float(abs_error) / actual if actual > 0 else None,
            "bias": (float(forecast) - actual) / actual if actual > 0 else None}


async def accuracy(session: AsyncSession, start: date, end: date, location: str | None) -> dict[str, Any]:
    rows = (await session.execute(text(ACCURACY), _params(start, end, location, None))).all()
    by_class = {r.cls: scores(r.days, r.abs_error, r.actual, r.forecast) for r in rows}
    total = scores(sum(r.days for r in rows), sum(r.abs_error for r in rows), sum(r.actual for r in rows),
                   sum(r.forecast for r in rows))
    return {**total, "by_class": by_class}


async def history(session: AsyncSession, location: str, sku: str, start: date, end: date) -> list[dict[str, Any]]:
    rows = await session.execute(text(HISTORY), _params(start, end, location, sku))
    return [{"date": r.day, "quantity": float(r.actual), "stockout": bool(r.stockout),
             "forecast_mean": float(r.mean) if r.mean is not None else None} for r in rows]
