"""Aggregation groups as JSON rows: the domain GroupState plus the route settings it was formed under."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from services.notify.domain import GroupState, RouteMatch


@dataclass(frozen=True)
class Group:
    state: GroupState
    match: RouteMatch

    def refreshed(self, match: RouteMatch) -> Group:
        """Timing follows the latest config the group's alerts were routed with."""
        return replace(self, match=match)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def dump(group: Group) -> dict[str, Any]:
    s, m = group.state, group.match
    return {
        "key": s.key, "created_at": _time(s.created_at), "members": dict(s.members),
        "firing": sorted(s.firing), "last_flush_at": _time(s.last_flush_at), "flushed": dict(s.flushed),
        "flush_count": s.flush_count,
        "match": {"route_id": m.route_id, "receiver": m.receiver, "group_by": list(m.group_by),
                  "group_wait": m.group_wait.total_seconds(), "group_interval": m.group_interval.total_seconds(),
                  "repeat_interval": m.repeat_interval.total_seconds(), "escalation": m.escalation,
                  "mute_time_intervals": list(m.mute_time_intervals),
                  "active_time_intervals": list(m.active_time_intervals)},
    }


def load(data: dict[str, Any]) -> Group:
    m = data["match"]
    match = RouteMatch(
        route_id=m["route_id"], receiver=m["receiver"], group_by=tuple(m["group_by"]),
        group_wait=timedelta(seconds=m["group_wait"]), group_interval=timedelta(seconds=m["group_interval"]),
        repeat_interval=timedelta(seconds=m["repeat_interval"]), escalation=m.get("escalation"),
        mute_time_intervals=tuple(m.get("mute_time_intervals", ())),
        active_time_intervals=tuple(m.get("active_time_intervals", ())),
    )
    state = GroupState(
        key=data["key"], created_at=_parse(data["created_at"]), members=dict(data["members"]),
        firing=frozenset(data["firing"]), last_flush_at=_parse(data["last_flush_at"]),
        flushed=dict(data["flushed"]), flush_count=int(data["flush_count"]),
    )
    return Group(state, match)
