"""What one group flush says: members re-checked against silences/inhibition/quiet hours, then the message."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.notify.domain import AlertState, FlushDecision, GroupState, Target, after_flush, without_alerts
from services.notify.groupstore import Group
from services.notify.handlers import utcnow

DROPPED = ("silenced", "inhibited", "muted")


@dataclass(frozen=True)
class FlushPlan:
    message: list[AlertState]  # alerts the receiver hears about now (empty: nothing to send)
    after: GroupState | None   # the group once flushed (None: forget it)


def flush_members(group: Group, states: Mapping[str, AlertState], decision: FlushDecision, send_resolved: bool,
                  targets_of: Mapping[str, list[Target]]) -> FlushPlan:
    """Holds are re-checked at flush time, so a silence created during group_wait still mutes the alert."""
    key = group.state.key
    deliver, held, dropped = [], [], []
    for alert_id in group.state.members:
        alert = states.get(alert_id)
        found = targets_of.get(alert_id, []) if alert is not None else []
        target = next((t for t in found if t.group_key == key), None)
        if target is None or target.held_by in DROPPED:
            dropped.append(alert_id)
        elif target.held_by == "quiet_hours":
            held.append(alert_id)
        else:
            deliver.append(alert)
    message = [a for a in deliver if a.status == "firing" or (a.status == "resolved" and send_resolved)]
    if decision.reason == "repeat":
        message = [a for a in message if a.status == "firing"]  # a repeat reminds of what still burns
    state = without_alerts(group.state, dropped)
    return FlushPlan(message, after_flush(state, utcnow(), held=held))
