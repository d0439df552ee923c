"""A refire within the flap window of a resolve keeps the acknowledgement; later refires start afresh."""

from __future__ import annotations

from datetime import timedelta

from services.notify.domain import acknowledge, apply_event, resolve
from tests.notify.conftest import alert_event

WINDOW = timedelta(minutes=5)


def _acked_then_resolved(clock, *, by_source: bool = True):
    fired = apply_event(None, alert_event(at=clock.now), alert_id="a1", now=clock.now).state
    acked = acknowledge(fired, actor="li.wei", comment="ordering now", now=clock.advance(minutes=1)).state
    at = clock.advance(minutes=1)
    if by_source:
        return apply_event(acked, alert_event(status="resolved", at=at), alert_id="a1", now=at).state
    return resolve(acked, actor="li.wei", comment=None, now=at).state


def test_refire_seconds_after_source_resolve_keeps_owner_comment_and_ack_time(clock):
    closed = _acked_then_resolved(clock)
    acked_at = closed.acked_at
    outcome = apply_event(closed, alert_event(at=clock.advance(seconds=20)), alert_id="a1", now=clock.now,
                          flap_window=WINDOW)
    alert = outcome.state
    assert (alert.status, alert.acked_by, alert.ack_comment, alert.acked_at) == (
        "acknowledged", "li.wei", "ordering now", acked_at)
    assert alert.revision == closed.revision + 1 and alert.fire_count == 2 and alert.resolved_at is None
    assert outcome.action == "refired" and "acknowledgement by li.wei kept" in alert.history[-1].comment


def test_refire_exactly_at_the_window_edge_still_counts_as_flap(clock):
    closed = _acked_then_resolved(clock)
    alert = apply_event(closed, alert_event(at=clock.advance(minutes=5)), alert_id="a1", now=clock.now,
                        flap_window=WINDOW).state
    assert alert.status == "acknowledged"


def test_refire_after_the_window_is_a_new_episode_with_ack_cleared(clock):
    closed = _acked_then_resolved(clock)
    alert = apply_event(closed, alert_event(at=clock.advance(minutes=5, seconds=1)), alert_id="a1",
                        now=clock.now, flap_window=WINDOW).state
    assert (alert.status, alert.acked_by, alert.acked_at, alert.ack_comment) == ("firing", None, None, None)
    assert alert.history[-1].comment is None


def test_window_applies_to_a_manual_resolve_too(clock):
    closed = _acked_then_resolved(clock, by_source=False)
    alert = apply_event(closed, alert_event(at=clock.advance(minutes=2)), alert_id="a1", now=clock.now,
                        flap_window=WINDOW).state
    assert alert.status == "acknowledged" and alert.acked_by == "li.wei"


def test_unacknowledged_flap_refires_as_firing(clock):
    fired = apply_event(None, alert_event(at=clock.now), alert_id="a1", now=clock.now).state
    closed = apply_event(fired, alert_event(status="resolved", at=clock.advance(seconds=5)), alert_id="a1",
                         now=clock.now).state
    outcome = apply_event(closed, alert_event(at=clock.advance(seconds=5)), alert_id="a1", now=clock.now,
                          flap_window=WINDOW)
    assert outcome.state.status == "firing" and outcome.notify and outcome.state.revision == 3


def test_no_window_keeps_the_old_behaviour(clock):
    closed = _acked_then_resolved(clock)
    alert = apply_event(closed, alert_event(at=clock.advance(seconds=1)), alert_id="a1", now=clock.now).state
    assert alert.status == "firing" and alert.acked_by is None
