"""Alert lifecycle: firing → acknowledged → resolved, re-fire, history, and the revision that drives sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

Status = Literal["firing", "acknowledged", "resolved"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
SOURCE = "source"  # actor of changes that come from the alert topics rather than a person
_CONTENT = ("type", "sku", "location", "supplier_id", "category", "po_id", "summary", "explanation",
            "value_at_risk", "labels")


class InvalidTransition(ValueError):
    """A person asked for a change the alert's status does not allow (e.g. ack a resolved alert)."""


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    comment: str | None = None


@dataclass(frozen=True)
class AlertState:
    """One alert per key. `revision` bumps on every change receivers must hear about, never otherwise."""

    id: str
    key: str
    type: str
    severity: str
    status: Status
    summary: str
    first_fired_at: datetime
    last_fired_at: datetime
    last_event_at: datetime
    explanation: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    sku: str | None = None
    location: str | None = None
    supplier_id: str | None = None
    category: str | None = None
    po_id: str | None = None
    value_at_risk: float | None = None
    revision: int = 1
    fire_count: int = 1
    resolved_at: datetime | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    ack_comment: str | None = None
    history: tuple[HistoryEntry, ...] = ()
    # Escalation counts wall time from when this firing episode reached us, not from event time.
    escalation_started_at: datetime | None = None
    escalations_sent: frozenset[tuple[int, int]] = frozenset()  # (cycle, step index)

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


@dataclass(frozen=True)
class Transition:
    """Result of a change to an alert: the new state (None: no alert) and whether receivers must hear."""

    state: AlertState | None
    notify: bool
    action: str | None  # history action recorded, None when nothing changed


def _content(event: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: event.get(name) for name in _CONTENT if name in event}
    values["explanation"] = dict(values.get("explanation") or {})
    values["labels"] = {str(k): str(v) for k, v in (values.get("labels") or {}).items()}
    if "summary" in values:
        values["summary"] = values["summary"] or ""
    return values


def apply_event(
    state: AlertState | None, event: Mapping[str, Any], *, alert_id: str, now: datetime,
    flap_window: timedelta = timedelta(0),
) -> Transition:
    """Fold one alert event (the topic payload) into the alert with that key; `now` is processing time.

    Events older than the last one applied are ignored, so a late "resolved" cannot undo a newer "firing".
    `alert_id` is only used when the key is new. A refire within `flap_window` (event time) of the resolve
    keeps the acknowledgement of the episode before it.
    """
    at: datetime = _aware(event["occurred_at"])
    if state is not None and at < state.last_event_at:
        return Transition(state, False, None)
    if state is not None and at == state.last_event_at and _same_as_last(state, event):
        return Transition(state, False, None)  # a redelivered event: counted once
    if event["status"] == "resolved":
        return _source_resolved(state, at)
    if state is None:
        return _first_fire(event, alert_id, at, now)
    if state.status == "resolved":
        return _refire(state, event, at, now, flap_window)
    return _refresh(state, event, at)


def _same_as_last(state: AlertState, event: Mapping[str, Any]) -> bool:
    resolved = event["status"] == "resolved"
    return resolved == (state.status == "resolved") and (resolved or event["severity"] == state.severity)


def _first_fire(event: Mapping[str, Any], alert_id: str, at: datetime, now: datetime) -> Transition:
    state = AlertState(
        id=alert_id, key=event["key"], severity=event["severity"], status="firing", first_fired_at=at,
        last_fired_at=at, last_event_at=at, history=(HistoryEntry(at, SOURCE, "fired"),),
        escalation_started_at=now,
        **{"summary": "", "type": event["type"], **_content(event)},
    )
    return Transition(state, True, "fired")


def _refire(state: AlertState, event: Mapping[str, Any], at: datetime, now: datetime,
            flap_window: timedelta) -> Transition:
    fired = replace(
        state, **_content(event), severity=event["severity"], status="firing", last_fired_at=at,
        last_event_at=at, resolved_at=None, acked_by=None, acked_at=None, ack_comment=None,
        revision=state.revision + 1, fire_count=state.fire_count + 1,
        history=(*state.history, HistoryEntry(at, SOURCE, "refired")),
        escalation_started_at=now, escalations_sent=frozenset(),
    )
    if not is_flap(state, at, flap_window):
        return Transition(fired, True, "refired")
    # The same episode flapping (resolve → refire within the window): its owner keeps it, no new page.
    note = f"within {flap_window} of the resolve: acknowledgement by {state.acked_by} kept"
    kept = replace(fired, status="acknowledged", acked_by=state.acked_by, acked_at=state.acked_at,
                   ack_comment=state.ack_comment,
                   history=(*state.history, HistoryEntry(at, SOURCE, "refired", note)))
    return Transition(kept, True, "refired")


def is_flap(state: AlertState, at: datetime, flap_window: timedelta) -> bool:
    """A refire at `at` of an acknowledged episode resolved no longer than `flap_window` before."""
    return (state.acked_by is not None and state.resolved_at is not None
            and timedelta(0) <= at - state.resolved_at <= flap_window)


def _refresh(state: AlertState, event: Mapping[str, Any], at: datetime) -> Transition:
    """Re-evaluation of an open alert: update it in place; only a severity change while firing re-notifies."""
    updated = replace(state, **_content(event), last_fired_at=at, last_event_at=at,
                      fire_count=state.fire_count + 1)
    if event["severity"] == state.severity:
        return Transition(updated, False, None)
    entry = HistoryEntry(at, SOURCE, "severity_changed", f"{state.severity} → {event['severity']}")
    # Acknowledged stays acknowledged until resolved: the owner already has it, no new page.
    renotify = state.status == "firing"
    changed = replace(updated, severity=event["severity"], history=(*state.history, entry),
                      revision=state.revision + (1 if renotify else 0))
    return Transition(changed, renotify, "severity_changed")


def _source_resolved(state: AlertState | None, at: datetime) -> Transition:
    if state is None or state.status == "resolved":
        return Transition(state, False, None)
    return _close(state, at, SOURCE, None)


def _close(state: AlertState, at: datetime, actor: str, comment: str | None) -> Transition:
    entry = HistoryEntry(at, actor, "resolved", comment)
    closed = replace(state, status="resolved", resolved_at=at, last_event_at=max(at, state.last_event_at),
                     revision=state.revision + 1, history=(*state.history, entry))
    return Transition(closed, True, "resolved")


def acknowledge(state: AlertState, *, actor: str, comment: str | None, now: datetime) -> Transition:
    """Take ownership: stops escalation; does not re-notify. Acknowledging twice keeps the first owner."""
    if state.status == "resolved":
        raise InvalidTransition(f"alert {state.id} is resolved and cannot be acknowledged")
    if state.status == "acknowledged":
        return Transition(state, False, None)
    entry = HistoryEntry(now, actor, "acknowledged", comment)
    acked = replace(state, status="acknowledged", acked_by=actor, acked_at=now, ack_comment=comment,
                    history=(*state.history, entry))
    return Transition(acked, False, "acknowledged")


def resolve(state: AlertState, *, actor: str, comment: str | None, now: datetime) -> Transition:
    """Manual resolve; the source firing again later re-fires the alert. Resolving twice changes nothing."""
    if state.status == "resolved":
        return Transition(state, False, None)
    return _close(state, now, actor, comment)


def _aware(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without timezone: {value!r}")
    return moment
