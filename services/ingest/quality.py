"""The data quality report: source counters, top error reasons, sales gaps, spikes, counts vs the ledger."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.domain.quality import ledger_discrepancies, sales_gaps, spikes
from services.ingest.models import quarantine, received, sources

MAX_MOVEMENTS = 200_000  # the ledger replay reads at most this many movements of the window


def error_reason(message: str) -> str:
    """'data.quantity: must be > 0' stays; ids and values after the field path are kept short."""
    return message if len(message) <= 120 else message[:117] + "…"


async def _top_errors(session: AsyncSession, limit: int) -> list[dict[str, Any]]:
    rows = await session.execute(select(quarantine.c.errors).where(quarantine.c.status == "rejected")
                                 .order_by(quarantine.c.id.desc()).limit(5000))
    counts = Counter(error_reason(str(e)) for (errors,) in rows for e in (errors or []))
    return [{"reason": reason, "count": n} for reason, n in counts.most_common(limit)]


async def _daily_sales(session: AsyncSession, since: datetime) -> dict[tuple[str, str], dict[date, float]]:
    day = cast(func.timezone("UTC", received.c.event_time), Date)
    rows = await session.execute(
        select(received.c.location, received.c.sku, day, func.sum(-received.c.quantity))
        .where(received.c.type == "sale", received.c.event_time >= since, received.c.sku.is_not(None))
        .group_by(received.c.location, received.c.sku, day))
    daily: dict[tuple[str, str], dict[date, float]] = defaultdict(dict)
    for location, sku, on, quantity in rows:
        daily[(location, sku)][on] = float(quantity)
    return daily


def _spikes(daily: dict[tuple[str, str], dict[date, float]], k: float) -> list[dict[str, Any]]:
    found = []
    for (location, sku), by_day in daily.items():
        first, last = min(by_day), max(by_day)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        series = [by_day.get(d, 0.0) for d in days]  # a day without sales sold zero
        found += [{"location": location, "sku": sku, "date": days[i].isoformat(), "quantity": series[i]}
                  for i in spikes(series, k=k)]
    return found


async def _discrepancies(session: AsyncSession, since: datetime) -> list[dict[str, Any]]:
    r = received.c
    rows = await session.execute(select(r.location, r.sku, r.type, r.event_time, r.quantity)
                                 .where(r.event_time >= since, r.sku.is_not(None)).limit(MAX_MOVEMENTS))
    records = []
    for location, sku, kind, at, quantity in rows:
        record = {"location": location, "sku": sku, "type": kind, "time": at}
        if kind == "stock_count":
            record["on_hand"] = quantity
        else:  # the ledger stores signed effects; the replay applies the sign by type itself
            record["quantity"] = -quantity if kind == "sale" else quantity
        records.append(record)
    return [{"location": d.location, "sku": d.sku, "time": d.time.isoformat(), "expected": d.expected,
             "counted": d.counted, "difference": d.difference} for d in ledger_discrepancies(records)]


async def quality_report(session: AsyncSession, now: datetime, *, days: int = 56, k: float = 4.0,
                         top: int = 10) -> dict[str, Any]:
    since = now - timedelta(days=days)
    source_rows = await session.execute(select(sources).order_by(sources.c.source))
    daily = await _daily_sales(session, since)
    gaps = sales_gaps({key: list(by_day) for key, by_day in daily.items()})
    return {
        "window": {"since": since.isoformat(), "until": now.isoformat(), "k": k},
        "sources": [{"source": s.source, "accepted": s.accepted, "duplicates": s.duplicates,
                     "rejected": s.rejected, "stale": bool(s.stale),
                     "last_event_at": s.last_event_at.isoformat() if s.last_event_at else None,
                     "last_arrival_at": s.last_arrival_at.isoformat() if s.last_arrival_at else None}
                    for s in source_rows],
        "top_errors": await _top_errors(session, top),
        "sales_gaps": [{"location": g.location, "sku": g.sku, "first_missing": g.first_missing.isoformat(),
                        "last_missing": g.last_missing.isoformat(), "days": g.days} for g in gaps],
        "spikes": _spikes(daily, k),
        "ledger_discrepancies": await _discrepancies(session, since),
    }
