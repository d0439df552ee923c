"""Time intervals (weekdays + local time ranges in a timezone): quiet hours and route mute windows."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.notify.domain.config_view import ConfigView, Interval
    from services.notify.domain.routing import RouteMatch


def in_time_interval(interval: Interval, now: datetime) -> bool:
    """True when `now` (aware) falls in the interval, read on the interval's local wall clock."""
    local = now.astimezone(zoneinfo.ZoneInfo(interval.timezone))
    minute = local.hour * 60 + local.minute
    day, yesterday = local.weekday(), (local - timedelta(days=1)).weekday()
    days = interval.weekdays or frozenset(range(7))
    if not interval.times:
        return day in days
    for span in interval.times:
        if span.start < span.end and day in days and span.start <= minute < span.end:
            return True
        # An overnight range belongs to the weekday it starts on: Fri 22:00 → Sat 07:00 is "friday".
        if span.start > span.end and (
            (day in days and minute >= span.start) or (yesterday in days and minute < span.end)
        ):
            return True
    return False


def in_any(names: Iterable[str], config: ConfigView, now: datetime) -> bool:
    return any(in_time_interval(config.time_interval(name), now) for name in names)


def in_quiet_hours(severity: str, config: ConfigView, now: datetime) -> bool:
    """True when notifications of this severity wait: quiet hours apply to the configured (low) severities."""
    quiet = config.quiet_hours
    if quiet is None or severity not in quiet.severities:
        return False
    return in_any(quiet.time_intervals, config, now)


def is_muted(match: RouteMatch, config: ConfigView, now: datetime) -> bool:
    """Route-level mute: inside a mute interval, or outside every active interval when any are set."""
    if in_any(match.mute_time_intervals, config, now):
        return True
    return bool(match.active_time_intervals) and not in_any(match.active_time_intervals, config, now)


def quiet_until(severity: str, config: ConfigView, now: datetime, *, step: timedelta = timedelta(minutes=1),
                horizon: timedelta = timedelta(days=8)) -> datetime | None:
    """First minute boundary at or after `now` outside quiet hours (None if quiet for the whole horizon)."""
    moment = now
    end = now + horizon
    while moment <= end:
        if not in_quiet_hours(severity, config, moment):
            return moment
        moment = (moment + step).replace(second=0, microsecond=0)
    return None
