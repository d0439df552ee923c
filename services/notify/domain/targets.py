"""Where an alert goes now: its routes and groups, and what holds a route back (silence, inhibition, mute, quiet)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from services.notify.domain.inhibition import inhibited_by
from services.notify.domain.lifecycle import AlertState
from services.notify.domain.matchers import alert_labels
from services.notify.domain.routing import RouteMatch, group_key, route
from services.notify.domain.silences import Silence, silenced_by
from services.notify.domain.timeintervals import in_quiet_hours, is_muted

if TYPE_CHECKING:
    from services.notify.domain.config_view import ConfigView

# silenced / inhibited / muted: dropped, logged as "suppressed". quiet_hours: held and sent when quiet ends.
Hold = Literal["silenced", "inhibited", "muted", "quiet_hours"]


@dataclass(frozen=True)
class Target:
    match: RouteMatch
    group_key: str
    held_by: Hold | None = None  # None: deliver
    detail: str | None = None  # silence id or key of the inhibiting alert

    @property
    def deliver(self) -> bool:
        return self.held_by is None


def targets(
    alert: AlertState, config: ConfigView, *, open_alerts: Iterable[AlertState],
    silences: Iterable[Silence], now: datetime,
) -> list[Target]:
    """One target per matching route; `open_alerts` (not resolved) are the candidate inhibition sources."""
    labels = alert_labels(alert)
    hold, detail = _alert_hold(alert, labels, config, list(open_alerts), list(silences), now)
    found = []
    for match in route(labels, config):
        key = group_key(match, labels)
        if hold is None and is_muted(match, config, now):
            found.append(Target(match, key, "muted"))
        else:
            found.append(Target(match, key, hold, detail))
    return found


def _alert_hold(
    alert: AlertState, labels: dict[str, str], config: ConfigView, open_alerts: list[AlertState],
    silences: list[Silence], now: datetime,
) -> tuple[Hold | None, str | None]:
    silencing = silenced_by(labels, silences, now)
    if silencing:
        return "silenced", silencing[0].id
    sources = {a.key: alert_labels(a) for a in open_alerts if a.is_open and a.key != alert.key}
    source = inhibited_by(labels, sources.values(), config.inhibit_rules)
    if source is not None:
        return "inhibited", next(key for key, value in sources.items() if value is source)
    if in_quiet_hours(alert.severity, config, now):
        return "quiet_hours", None
    return None, None
