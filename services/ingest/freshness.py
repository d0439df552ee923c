"""Feed bookkeeping on the wall clock: source counters, learned cadence, feed_stale alerts, the watermark."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from services.ingest import repository as repo
from services.ingest.domain.freshness import SourceState, feed_stale_alert, is_stale, observe
from services.ingest.handlers import Tally
from services.ingest.models import outbox, sources
from shared.db.uow import UnitOfWork
from shared.events.topics import INGEST_ALERTS
from shared.service import ServiceRuntime

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def source_state(row: Any) -> SourceState:
    cadence = row.configured_cadence_s
    return SourceState(row.source, row.last_event_at, row.last_arrival_at, tuple(row.arrival_gaps or ()),
                       tuple(row.event_gaps or ()), timedelta(seconds=cadence) if cadence else None)


async def note_arrivals(uow: UnitOfWork, tallies: dict[str, Tally], now: datetime) -> None:
    """Count a delivery per source; data flowing again resolves a firing feed_stale at once."""
    rows = await repo.sources_for_update(uow.session, list(tallies))
    for name, tally in tallies.items():
        row = rows[name]
        state = source_state(row)
        newest = tally.newest or state.last_event_time
        if newest is not None:
            state = observe(state, newest, now)
        stale = row.stale
        if row.stale and not is_stale(state, now):
            stale = 0
            await _alert(uow, state, now, firing=False)
        await repo.note_source(uow.session, replace(
            row, accepted=row.accepted + tally.accepted, duplicates=row.duplicates + tally.duplicates,
            rejected=row.rejected + tally.rejected, last_event_at=state.last_event_time, last_arrival_at=now,
            arrival_gaps=list(state.arrival_gaps), event_gaps=list(state.event_gaps), stale=stale))


async def check_sources(uow: UnitOfWork, now: datetime) -> int:
    """Fire feed_stale for sources quiet past their cadence (resolve the ones flowing); returns changes."""
    changed = 0
    for row in await repo.all_sources(uow.session):
        state = source_state(row)
        stale = is_stale(state, now)
        if stale != bool(row.stale):
            await repo.update_source(uow.session, row.source, stale=int(stale))
            await _alert(uow, state, now, firing=stale)
            changed += 1
    return changed


async def _alert(uow: UnitOfWork, state: SourceState, now: datetime, *, firing: bool) -> None:
    await uow.publish(INGEST_ALERTS, key=f"feed_stale:{state.source}", type="replenish.alert", time=now,
                      data=feed_stale_alert(state, now, firing=firing))


async def configure_source(uow: UnitOfWork, source: str, cadence_s: float | None) -> Any:
    await repo.sources_for_update(uow.session, [source])
    await repo.update_source(uow.session, source, configured_cadence_s=cadence_s)
    return (await repo.sources_for_update(uow.session, [source]))[source]


class Watermark:
    """Latest event time whose events are all on the canonical topics (nothing left in the outbox)."""

    def __init__(self) -> None:
        self.event_time: datetime | None = None
        self.checked_at: datetime | None = None

    async def refresh(self, runtime: ServiceRuntime, now: datetime) -> None:
        async with runtime.sessionmaker() as session:
            # Read the newest event time first: whatever it reflects had committed its outbox rows already.
            newest = (await session.execute(select(func.max(sources.c.last_event_at)))).scalar()
            waiting = (await session.execute(select(func.count()).select_from(outbox)
                                             .where(outbox.c.published_at.is_(None)))).scalar_one()
        if waiting == 0 and newest is not None:
            self.event_time = max(newest, self.event_time) if self.event_time else newest
        self.checked_at = now

    def body(self, runtime: ServiceRuntime) -> dict[str, Any]:
        now = wall_clock()
        lag = (now - self.event_time).total_seconds() if self.event_time else None
        return {"event_time": self.event_time.isoformat() if self.event_time else None,
                "lag_seconds": lag, "checked_at": self.checked_at.isoformat() if self.checked_at else None}


def make_watcher(clock: Clock, watermark: Watermark, every_s: float = 30.0):
    """The background task: freshness every `every_s`, the watermark every second."""

    async def watch(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        last_check = None
        while not stop.is_set():
            now = clock()
            try:
                await watermark.refresh(runtime, now)
                if last_check is None or (now - last_check).total_seconds() >= every_s:
                    async with runtime.uow() as uow:
                        await check_sources(uow, now)
                    last_check = now
            except Exception:  # the database may be away for a moment: try again next tick
                log.exception("freshness check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    return watch
