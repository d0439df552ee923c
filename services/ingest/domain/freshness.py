"""Per-source freshness: last event time, last arrival, learned cadence, and when a feed has gone quiet."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

KEEP_GAPS = 50  # recent inter-arrival gaps kept for learning the cadence
MIN_SAMPLES = 3  # gaps needed before a learned cadence is trusted
BURST = timedelta(seconds=1)  # arrivals closer than this are one delivery, not a cadence


@dataclass(frozen=True)
class SourceState:
    source: str
    last_event_time: datetime | None = None
    last_arrival_at: datetime | None = None
    arrival_gaps: tuple[float, ...] = ()  # seconds between deliveries (wall clock)
    event_gaps: tuple[float, ...] = ()  # seconds between newest event times of deliveries
    configured_cadence: timedelta | None = None


def observe(state: SourceState, event_time: datetime, arrival_at: datetime) -> SourceState:
    """The state after a delivery whose newest event happened at `event_time`."""
    arrival_gaps, event_gaps = state.arrival_gaps, state.event_gaps
    if state.last_arrival_at is not None and arrival_at - state.last_arrival_at >= BURST:
        arrival_gaps = (*arrival_gaps, (arrival_at - state.last_arrival_at).total_seconds())[-KEEP_GAPS:]
        if state.last_event_time is not None and event_time > state.last_event_time:
            event_gaps = (*event_gaps, (event_time - state.last_event_time).total_seconds())[-KEEP_GAPS:]
    newest = max(event_time, state.last_event_time) if state.last_event_time else event_time
    latest_arrival = max(arrival_at, state.last_arrival_at) if state.last_arrival_at else arrival_at
    return replace(state, last_event_time=newest, last_arrival_at=latest_arrival,
                   arrival_gaps=arrival_gaps, event_gaps=event_gaps)


def learned_cadence(gaps: tuple[float, ...]) -> timedelta | None:
    """The median gap: robust to the odd outage or catch-up burst that a mean would chase."""
    if len(gaps) < MIN_SAMPLES:
        return None
    return timedelta(seconds=statistics.median(gaps))


def expected_cadence(state: SourceState) -> timedelta | None:
    return state.configured_cadence or learned_cadence(state.arrival_gaps)


def is_stale(state: SourceState, now: datetime, *, tolerance: float = 3.0,
             floor: timedelta = timedelta(minutes=5)) -> bool:
    """Quiet for longer than `tolerance` cadences (never less than `floor`); unknown cadence is never stale."""
    cadence = expected_cadence(state)
    if cadence is None or state.last_arrival_at is None:
        return False
    return now - state.last_arrival_at > max(cadence * tolerance, floor)


def feed_stale_alert(state: SourceState, now: datetime, *, firing: bool) -> dict[str, Any]:
    """The alert payload (one schema for all alert topics) for `feed_stale:<source>`."""
    cadence = expected_cadence(state)
    quiet = (now - state.last_arrival_at) if state.last_arrival_at else None
    summary = (f"No data from {state.source} for {quiet} (expected every {cadence})" if firing
               else f"Data from {state.source} flows again")
    return {"key": f"feed_stale:{state.source}", "type": "feed_stale",
            "severity": "warning", "status": "firing" if firing else "resolved", "summary": summary,
            "explanation": {"last_arrival_at": _iso(state.last_arrival_at),
                            "last_event_time": _iso(state.last_event_time),
                            "expected_cadence_seconds": cadence.total_seconds() if cadence else None,
                            "cadence": "configured" if state.configured_cadence else "learned (median gap)",
                            "quiet_seconds": quiet.total_seconds() if quiet else None},
            "occurred_at": now.isoformat(), "labels": {"source": state.source}}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
