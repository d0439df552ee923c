"""Notify's §11 figures: time to acknowledge (p50/p90) from each alert's history; alert precision is not measured
yet (alert outcomes are a later issue), so it is reported as such rather than guessed."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

FIRES = ("fired", "refired")


async def latest_day(session: AsyncSession) -> date | None:
    return (await session.execute(text("SELECT CAST(max(last_event_at) AT TIME ZONE 'UTC' AS date) "
                                       "FROM notify.alerts"))).scalar_one()


def ack_delays(history: list[dict[str, Any]], start: date, end: date) -> list[float]:
    """Seconds from each episode's firing to its acknowledgement, for acknowledgements made in [start, end] (UTC
    days): the clock starts at the latest fired or re-fired entry before the acknowledgement."""
    fired, out = None, []
    for entry in sorted(history, key=lambda e: e["at"]):
        at = datetime.fromisoformat(entry["at"])
        if entry["action"] in FIRES:
            fired = at
        elif entry["action"] == "acknowledged" and fired is not None:
            if start <= at.date() <= end:
                out.append(max((at - fired).total_seconds(), 0.0))
            fired = None  # a second acknowledgement of the same episode does not count again
    return out


def percentiles(delays: list[float]) -> dict[str, Any]:
    if not delays:
        return {"p50": None, "p90": None, "count": 0}
    p50, p90 = np.percentile(np.asarray(delays), [50, 90])
    return {"p50": float(p50), "p90": float(p90), "count": len(delays)}


async def alert_kpis(session: AsyncSession, span: tuple[date, date], location: str | None) -> dict[str, Any]:
    start, end = span
    rows = (await session.execute(text(
        "SELECT history, CAST(first_fired_at AT TIME ZONE 'UTC' AS date) AS first_day FROM notify.alerts "
        "WHERE (last_event_at >= CAST(:start AS date) OR acked_at >= CAST(:start AS date)) "
        "AND (CAST(:location AS text) IS NULL OR location = :location)"),
        {"start": start, "location": location or None})).all()
    delays = [d for r in rows for d in ack_delays(r.history, start, end)]
    return summary(sum(1 for r in rows if start <= r.first_day <= end), delays)


def summary(fired: int, delays: list[float]) -> dict[str, Any]:
    return {"fired": fired, "time_to_acknowledge_s": percentiles(delays), "precision": None,
            "precision_status": "not_measured"}
