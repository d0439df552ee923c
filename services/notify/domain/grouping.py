"""Group scheduler decisions: when a group is flushed (group_wait, group_interval, repeat_interval)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from services.notify.domain.routing import RouteMatch

FlushReason = Literal["initial", "changed", "repeat"]


@dataclass(frozen=True)
class GroupState:
    """One aggregation group on one route: its members (alert id → revision) and what was last sent."""

    key: str
    created_at: datetime
    members: Mapping[str, int] = field(default_factory=dict)
    firing: frozenset[str] = frozenset()
    last_flush_at: datetime | None = None
    flushed: Mapping[str, int] = field(default_factory=dict)
    flush_count: int = 0

    @property
    def changed(self) -> bool:
        return dict(self.members) != dict(self.flushed)


@dataclass(frozen=True)
class FlushDecision:
    """A flush that is due: why, when it became due, and its sequence number (for idempotency keys)."""

    reason: FlushReason
    due_at: datetime
    sequence: int


def new_group(key: str, now: datetime) -> GroupState:
    return GroupState(key=key, created_at=now)


def with_alert(state: GroupState, alert_id: str, revision: int, *, firing: bool) -> GroupState:
    """The group after an alert joined or changed; a resolved alert stays until its resolution is flushed."""
    members = {**state.members, alert_id: revision}
    active = state.firing | {alert_id} if firing else state.firing - {alert_id}
    return replace(state, members=members, firing=frozenset(active))


def without_alerts(state: GroupState, alert_ids: Iterable[str]) -> GroupState:
    """Drop alerts that no longer belong (e.g. silenced, inhibited or rerouted after a config reload)."""
    gone = set(alert_ids)
    members = {k: v for k, v in state.members.items() if k not in gone}
    return replace(state, members=members, firing=state.firing - gone)


def next_flush(state: GroupState, match: RouteMatch) -> FlushDecision | None:
    """The next flush this group needs, or None when nothing will ever be due (sent and nothing firing)."""
    sequence = state.flush_count + 1
    if state.last_flush_at is None:
        if not state.members:
            return None
        return FlushDecision("initial", state.created_at + match.group_wait, sequence)
    if state.changed:
        return FlushDecision("changed", state.last_flush_at + match.group_interval, sequence)
    if state.firing:
        return FlushDecision("repeat", state.last_flush_at + match.repeat_interval, sequence)
    return None


def flush_due(state: GroupState, match: RouteMatch, now: datetime) -> FlushDecision | None:
    """The flush to perform now, if one is due at `now`."""
    decision = next_flush(state, match)
    return decision if decision is not None and decision.due_at <= now else None


def after_flush(state: GroupState, now: datetime, *, held: Iterable[str] = ()) -> GroupState | None:
    """The group once flushed: resolved alerts leave it; None when it is empty and can be forgotten.

    `held` alerts were not sent (quiet hours): they stay unflushed, so the group counts as changed and
    is retried every group_interval until they can go.
    """
    waiting = set(held) & set(state.members)
    members = {k: v for k, v in state.members.items() if k in state.firing or k in waiting}
    if not members:
        return None
    flushed = {k: v for k, v in members.items() if k not in waiting}
    return replace(state, members=members, flushed=flushed, last_flush_at=now,
                   flush_count=state.flush_count + 1)


def to_notify(alerts: Iterable[tuple[str, bool]], *, send_resolved: bool) -> list[str]:
    """Ids of the alerts (id, firing) a receiver's message carries; empty when there is nothing to say."""
    return [alert_id for alert_id, firing in alerts if firing or send_resolved]
