"""Group scheduler: group_wait for new groups, group_interval for changes, repeat_interval while firing."""

from __future__ import annotations

from datetime import timedelta

from services.notify.domain import (
    RouteMatch,
    after_flush,
    flush_due,
    new_group,
    next_flush,
    to_notify,
    with_alert,
)
from tests.notify.conftest import T0

MATCH = RouteMatch("0", "ops", ("location",), group_wait=timedelta(seconds=30),
                   group_interval=timedelta(minutes=5), repeat_interval=timedelta(hours=4))


def test_new_group_waits_group_wait_before_first_flush(clock):
    group = with_alert(new_group("g", clock.now), "a1", 1, firing=True)
    clock.advance(seconds=10)
    group = with_alert(group, "a2", 1, firing=True)  # joins during group_wait: same first message
    clock.advance(seconds=19)
    assert flush_due(group, MATCH, clock.now) is None
    clock.advance(seconds=1)
    decision = flush_due(group, MATCH, clock.now)
    assert decision is not None and decision.reason == "initial" and decision.sequence == 1
    assert decision.due_at == T0 + timedelta(seconds=30)


def test_zero_group_wait_flushes_at_once(clock):
    instant = RouteMatch("0", "ops", (), timedelta(0), timedelta(minutes=5), timedelta(hours=4))
    group = with_alert(new_group("g", clock.now), "a1", 1, firing=True)
    assert flush_due(group, instant, clock.now).reason == "initial"


def test_unchanged_firing_group_repeats_after_repeat_interval(clock):
    group = with_alert(new_group("g", clock.now), "a1", 1, firing=True)
    group = after_flush(group, clock.advance(seconds=30))
    clock.advance(hours=3, minutes=59)
    assert flush_due(group, MATCH, clock.now) is None
    clock.advance(minutes=1)
    decision = flush_due(group, MATCH, clock.now)
    assert (decision.reason, decision.sequence) == ("repeat", 2)


def test_change_after_flush_waits_group_interval_from_last_flush(clock):
    group = with_alert(new_group("g", clock.now), "a1", 1, firing=True)
    flushed_at = clock.advance(seconds=30)
    group = after_flush(group, flushed_at)
    clock.advance(minutes=2)
    group = with_alert(group, "a2", 1, firing=True)
    assert next_flush(group, MATCH).due_at == flushed_at + timedelta(minutes=5)
    assert flush_due(group, MATCH, clock.advance(minutes=2, seconds=59)) is None
    assert flush_due(group, MATCH, clock.advance(seconds=1)).reason == "changed"


def test_revision_bump_counts_as_change_but_same_revision_does_not(clock):
    group = after_flush(with_alert(new_group("g", clock.now), "a1", 1, firing=True), clock.now)
    assert with_alert(group, "a1", 1, firing=True).changed is False
    assert with_alert(group, "a1", 2, firing=True).changed is True


def test_resolved_alert_is_flushed_once_then_leaves_group(clock):
    group = after_flush(with_alert(new_group("g", clock.now), "a1", 1, firing=True), clock.now)
    group = with_alert(group, "a2", 1, firing=True)
    group = after_flush(group, clock.advance(minutes=5))
    group = with_alert(group, "a1", 2, firing=False)
    assert flush_due(group, MATCH, clock.advance(minutes=5)).reason == "changed"
    group = after_flush(group, clock.now)
    assert set(group.members) == {"a2"}
    assert next_flush(group, MATCH).reason == "repeat"


def test_group_with_everything_resolved_is_forgotten_after_flush(clock):
    group = after_flush(with_alert(new_group("g", clock.now), "a1", 1, firing=True), clock.now)
    group = with_alert(group, "a1", 2, firing=False)
    assert after_flush(group, clock.advance(minutes=5)) is None


def test_send_resolved_false_drops_resolved_alerts_from_message():
    alerts = [("a1", True), ("a2", False)]
    assert to_notify(alerts, send_resolved=True) == ["a1", "a2"]
    assert to_notify(alerts, send_resolved=False) == ["a1"]
    assert to_notify([("a2", False)], send_resolved=False) == []
