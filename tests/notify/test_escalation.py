"""Escalation: unacknowledged critical alerts climb the policy steps, then repeat, and stop on ack."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify.domain import (
    acknowledge,
    apply_event,
    delivery_key,
    escalation_due,
    mark_escalated,
    next_escalation_at,
    resolve,
)
from tests.notify.conftest import T0, alert_event, config_from


@pytest.fixture
def policy():
    config = config_from("""
        notify:
          receivers: [{name: store-chat}, {name: manager-sms}, {name: regional}]
          route: {receiver: store-chat}
          escalation_policies:
            - name: critical
              steps:
                - {after: 0s, receivers: [store-chat]}
                - {after: 10m, receivers: [manager-sms]}
                - {after: 30m, receivers: [regional, manager-sms]}
              repeat: 1
              repeat_after: 30m
        """)
    return config.escalation_policy("critical")


def _critical(clock):
    event = alert_event(severity="critical", at=clock.now)
    return apply_event(None, event, alert_id="a1", now=clock.now).state


def _steps(due):
    return [(d.cycle, d.step, d.receivers) for d in due]


def test_first_step_is_due_immediately_and_only_once(clock, policy):
    alert = _critical(clock)
    due = escalation_due(alert, policy, clock.now)
    assert _steps(due) == [(0, 0, ("store-chat",))]
    alert = mark_escalated(alert, due, clock.now)
    assert escalation_due(alert, policy, clock.advance(minutes=9)) == []
    assert alert.history[-1].action == "escalated"


def test_steps_follow_unacknowledged_time_then_repeat_once(clock, policy):
    alert = _critical(clock)
    seen = []
    for minute in range(0, 200):
        now = T0 + timedelta(minutes=minute)
        due = escalation_due(alert, policy, now)
        seen += [(minute, *step) for step in _steps(due)]
        alert = mark_escalated(alert, due, now)
    # Cycle = last step (30m) + repeat_after (30m) = 60 min; repeat: 1 → two passes, then silence.
    assert seen == [
        (0, 0, 0, ("store-chat",)), (10, 0, 1, ("manager-sms",)), (30, 0, 2, ("regional", "manager-sms")),
        (60, 1, 0, ("store-chat",)), (70, 1, 1, ("manager-sms",)), (90, 1, 2, ("regional", "manager-sms")),
    ]
    assert next_escalation_at(alert, policy, T0 + timedelta(minutes=200)) is None


def test_acknowledge_stops_escalation(clock, policy):
    alert = _critical(clock)
    alert = mark_escalated(alert, escalation_due(alert, policy, clock.now), clock.now)
    acked = acknowledge(alert, actor="li.wei", comment="on it", now=clock.advance(minutes=5)).state
    assert escalation_due(acked, policy, clock.advance(minutes=30)) == []
    assert next_escalation_at(acked, policy, clock.now) is None


def test_resolved_alert_does_not_escalate(clock, policy):
    closed = resolve(_critical(clock), actor="source", comment=None, now=clock.now).state
    assert escalation_due(closed, policy, clock.advance(hours=1)) == []


def test_missed_steps_of_a_past_cycle_are_skipped_after_downtime(clock, policy):
    alert = _critical(clock)
    due = escalation_due(alert, policy, clock.advance(minutes=75))  # down for 75 min: we are in cycle 2
    assert _steps(due) == [(1, 0, ("store-chat",)), (1, 1, ("manager-sms",))]


def test_next_escalation_at_schedules_the_timer(clock, policy):
    alert = _critical(clock)
    alert = mark_escalated(alert, escalation_due(alert, policy, clock.now), clock.now)
    assert next_escalation_at(alert, policy, clock.now) == T0 + timedelta(minutes=10)
    alert = mark_escalated(alert, escalation_due(alert, policy, clock.advance(minutes=31)), clock.now)
    assert next_escalation_at(alert, policy, clock.now) == T0 + timedelta(minutes=60)


def test_refire_restarts_escalation_and_each_step_has_its_own_delivery_key(clock, policy):
    alert = _critical(clock)
    first = escalation_due(alert, policy, clock.now)[0]
    alert = mark_escalated(alert, [first], clock.now)
    closed = resolve(alert, actor="ops", comment=None, now=clock.advance(minutes=2)).state
    again = apply_event(closed, alert_event(severity="critical", at=clock.advance(minutes=1)), alert_id="a1",
                        now=clock.now).state
    restarted = escalation_due(again, policy, clock.now)
    assert _steps(restarted) == [(0, 0, ("store-chat",))]
    keys = {delivery_key("a1", alert.revision, "store-chat", occasion=first.occasion),
            delivery_key("a1", again.revision, "store-chat", occasion=restarted[0].occasion),
            delivery_key("a1", alert.revision, "store-chat", occasion="escalation:1:0")}
    assert len(keys) == 3
