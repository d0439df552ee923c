"""Feed freshness: a source quiet past its cadence raises feed_stale; data flowing again resolves it."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from services.ingest import repository as repo
from shared.events.topics import INGEST_ALERTS
from shared.service import ServiceRuntime

MIN_QUIET_S = 15 * 60.0     # never call a feed stale within 15 minutes of its last batch
CADENCE_FACTOR = 3.0        # quiet for three typical gaps


def is_stale(last_arrival: datetime | None, cadence_s: float | None, now: datetime) -> bool:
    if last_arrival is None or cadence_s is None:
        return False
    return (now - last_arrival).total_seconds() > max(CADENCE_FACTOR * cadence_s, MIN_QUIET_S)


async def watch_freshness(runtime: ServiceRuntime, stop: asyncio.Event, every_s: float = 30.0) -> None:
    while not stop.is_set():
        await check_sources(runtime, datetime.now(UTC))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def check_sources(runtime: ServiceRuntime, now: datetime) -> None:
    async with runtime.uow() as uow:
        for row in await repo.all_sources(uow.session):
            stale = is_stale(row.last_arrival_at, row.cadence_s, now)
            if stale == bool(row.stale):
                continue
            await repo.set_stale(uow.session, row.source, stale)
            await uow.publish(INGEST_ALERTS, key=f"feed_stale:{row.source}", type="replenish.alert",
                              time=now, data=_alert(row, stale, now))


def _alert(row, stale: bool, now: datetime) -> dict:
    quiet = (now - row.last_arrival_at).total_seconds() if row.last_arrival_at else None
    return {"key": f"feed_stale:{row.source}", "type": "feed_stale", "severity": "warning",
            "status": "firing" if stale else "resolved",
            "summary": (f"feed {row.source} silent for {quiet / 60:.0f} min" if stale
                        else f"feed {row.source} flowing again"),
            "explanation": {"last_arrival_at": row.last_arrival_at.isoformat() if row.last_arrival_at else None,
                            "cadence_s": row.cadence_s, "rule": f"quiet > max({CADENCE_FACTOR}·cadence, "
                            f"{MIN_QUIET_S:.0f} s)"},
            "occurred_at": now.isoformat(), "labels": {"source": row.source}}
