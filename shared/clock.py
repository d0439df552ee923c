"""The platform's clock: the wall clock, or event time (REPLENISH_CLOCK=event) so a replay decides as live did.

In event mode `now()` is the latest event time the service has seen (`observe`), so every timer, window and
TTL that can change a decision moves with the data, not with how fast the data is played. Transport
(timeouts, reconnects, retry backoff) always uses the wall clock and never asks this object.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Literal

ClockMode = Literal["wall", "event"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def clock_mode(environ: dict[str, str] | None = None) -> ClockMode:
    """REPLENISH_CLOCK: `wall` (default) or `event`; anything else is a configuration error."""
    value = (environ if environ is not None else os.environ).get("REPLENISH_CLOCK", "wall").strip().lower() or "wall"
    if value not in ("wall", "event"):
        raise ValueError(f"REPLENISH_CLOCK must be 'wall' or 'event', not {value!r}")
    return value  # type: ignore[return-value]


class Clock:
    """`now()` for decisions and learned values; `observe(t)` moves event time forward (never back)."""

    def __init__(self, mode: ClockMode = "wall", event_time: datetime | None = None) -> None:
        self.mode = mode
        self._event_time = event_time

    @classmethod
    def from_env(cls) -> Clock:
        return cls(clock_mode())

    @property
    def is_event(self) -> bool:
        return self.mode == "event"

    @property
    def event_time(self) -> datetime | None:
        return self._event_time

    def observe(self, at: datetime | None) -> None:
        if at is None:
            return
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if self._event_time is None or at > self._event_time:
            self._event_time = at

    def now(self) -> datetime:
        """Wall time, or the latest event time seen (the epoch before any event: no timer is due yet)."""
        if self.mode == "wall":
            return datetime.now(UTC)
        return self._event_time or EPOCH
