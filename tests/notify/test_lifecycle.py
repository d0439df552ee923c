"""Alert lifecycle: one alert per key, firing → acknowledged → resolved, re-fire, revisions and history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify.domain import InvalidTransition, acknowledge, apply_event, resolve
from tests.notify.conftest import T0, alert_event


def _fired(clock):
    return apply_event(None, alert_event(at=clock.now), alert_id="a1", now=clock.now).state


def test_first_event_creates_firing_alert_at_revision_one(clock):
    outcome = apply_event(None, alert_event(at=clock.now), alert_id="a1", now=clock.now)
    alert = outcome.state
    assert outcome.notify and outcome.action == "fired"
    assert (alert.id, alert.status, alert.revision) == ("a1", "firing", 1)
    assert alert.key == "stockout_risk:store-12:SKU-1"
    assert alert.first_fired_at == alert.last_fired_at == T0
    assert [(h.actor, h.action) for h in alert.history] == [("source", "fired")]


def test_reevaluation_updates_in_place_without_renotifying(clock):
    alert = _fired(clock)
    later = alert_event(at=clock.advance(minutes=10), summary="runs out tomorrow", explanation={"on_hand": 1})
    outcome = apply_event(alert, later, alert_id="ignored", now=clock.now)
    assert not outcome.notify
    assert outcome.state.id == "a1" and outcome.state.revision == 1
    assert outcome.state.summary == "runs out tomorrow" and outcome.state.explanation == {"on_hand": 1}
    assert outcome.state.last_fired_at == T0 + timedelta(minutes=10) and outcome.state.first_fired_at == T0
    assert outcome.state.fire_count == 2 and len(outcome.state.history) == 1


def test_severity_change_while_firing_bumps_revision_and_renotifies(clock):
    alert = _fired(clock)
    outcome = apply_event(alert, alert_event(severity="critical", at=clock.advance(minutes=1)), alert_id="a1",
                          now=clock.now)
    assert outcome.notify and outcome.state.revision == 2 and outcome.state.severity == "critical"
    assert outcome.state.history[-1].comment == "warning → critical"


def test_acknowledge_records_actor_and_comment_and_does_not_renotify(clock):
    alert = _fired(clock)
    outcome = acknowledge(alert, actor="li.wei", comment="ordering now", now=clock.advance(minutes=3))
    acked = outcome.state
    assert not outcome.notify
    assert (acked.status, acked.acked_by, acked.ack_comment, acked.acked_at) == (
        "acknowledged", "li.wei", "ordering now", T0 + timedelta(minutes=3))
    assert acked.revision == 1
    assert (acked.history[-1].actor, acked.history[-1].action, acked.history[-1].comment) == (
        "li.wei", "acknowledged", "ordering now")


def test_acknowledged_alert_stays_acknowledged_through_reevaluation_and_severity_change(clock):
    acked = acknowledge(_fired(clock), actor="li.wei", comment=None, now=clock.now).state
    outcome = apply_event(acked, alert_event(severity="critical", at=clock.advance(minutes=5)), alert_id="a1",
                          now=clock.now)
    assert outcome.state.status == "acknowledged" and outcome.state.acked_by == "li.wei"
    assert not outcome.notify and outcome.state.revision == 1


def test_second_acknowledge_keeps_first_owner(clock):
    acked = acknowledge(_fired(clock), actor="li.wei", comment="mine", now=clock.now).state
    again = acknowledge(acked, actor="zhang.san", comment="no, mine", now=clock.advance(minutes=1))
    assert again.action is None and again.state.acked_by == "li.wei"


def test_source_resolution_resolves_and_notifies_once(clock):
    acked = acknowledge(_fired(clock), actor="li.wei", comment=None, now=clock.now).state
    outcome = apply_event(acked, alert_event(status="resolved", at=clock.advance(hours=1)), alert_id="a1",
                          now=clock.now)
    assert outcome.notify and outcome.state.status == "resolved" and outcome.state.revision == 2
    assert outcome.state.resolved_at == T0 + timedelta(hours=1)
    repeat = apply_event(outcome.state, alert_event(status="resolved", at=clock.advance(minutes=1)),
                         alert_id="a1", now=clock.now)
    assert not repeat.notify and repeat.state.revision == 2


def test_resolved_alert_refires_with_same_id_new_revision_and_cleared_ack(clock):
    acked = acknowledge(_fired(clock), actor="li.wei", comment="ok", now=clock.now).state
    closed = resolve(acked, actor="li.wei", comment="received", now=clock.advance(hours=1)).state
    outcome = apply_event(closed, alert_event(at=clock.advance(days=1)), alert_id="other", now=clock.now)
    alert = outcome.state
    assert outcome.notify and outcome.action == "refired"
    assert (alert.id, alert.status, alert.revision, alert.acked_by, alert.resolved_at) == (
        "a1", "firing", 3, None, None)
    assert alert.first_fired_at == T0 and alert.escalation_started_at == clock.now
    assert [h.action for h in alert.history] == ["fired", "acknowledged", "resolved", "refired"]


def test_stale_event_older_than_last_applied_is_ignored(clock):
    alert = _fired(clock)
    clock.advance(minutes=10)
    late_resolve = alert_event(status="resolved", at=T0 - timedelta(minutes=1))
    outcome = apply_event(alert, late_resolve, alert_id="a1", now=clock.now)
    assert outcome.state == alert and not outcome.notify


def test_resolved_event_for_unknown_key_creates_nothing(clock):
    outcome = apply_event(None, alert_event(status="resolved"), alert_id="a1", now=clock.now)
    assert outcome.state is None and not outcome.notify


def test_resolved_alert_cannot_be_acknowledged_and_resolving_twice_is_a_no_op(clock):
    closed = resolve(_fired(clock), actor="ops", comment=None, now=clock.now).state
    with pytest.raises(InvalidTransition):
        acknowledge(closed, actor="ops", comment=None, now=clock.now)
    assert resolve(closed, actor="ops", comment=None, now=clock.now).action is None


def test_naive_timestamps_are_rejected(clock):
    event = alert_event(at=T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone"):
        apply_event(None, event, alert_id="a1", now=clock.now)


def test_iso_string_timestamps_from_the_topic_are_accepted(clock):
    event = alert_event(at="2026-03-02T09:00:00+00:00")
    assert apply_event(None, event, alert_id="a1", now=clock.now).state.first_fired_at == T0


def test_redelivered_event_changes_nothing(clock):
    event = alert_event(at=clock.now)
    alert = apply_event(None, event, alert_id="a1", now=clock.now).state
    again = apply_event(alert, event, alert_id="a1", now=clock.advance(seconds=5))
    assert again.state == alert and not again.notify and again.state.fire_count == 1


def test_event_without_summary_gets_empty_summary(clock):
    event = alert_event(at=clock.now)
    event["summary"] = None
    assert apply_event(None, event, alert_id="a1", now=clock.now).state.summary == ""
