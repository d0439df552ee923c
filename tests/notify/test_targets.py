"""Targets: the routes an alert takes now and what holds each back (silence, inhibition, mute, quiet hours)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.domain import (
    Silence,
    after_flush,
    apply_event,
    flush_due,
    new_group,
    parse_matcher,
    resolve,
    targets,
    with_alert,
)
from tests.notify.conftest import alert_event, config_from

CONFIG = config_from("""
    notify:
      receivers: [{name: ops}, {name: audit}]
      route:
        receiver: ops
        group_wait: 0s
        routes:
          - {matchers: [category=fresh], receiver: audit, mute_time_intervals: [lunch], continue: true}
      time_intervals:
        - {name: lunch, times: [{start: "12:00", end: "13:00"}]}
        - {name: night, times: [{start: "22:00", end: "07:00"}]}
      quiet_hours: {time_intervals: [night], severities: [info]}
    """)
DAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _alert(alert_id, type_="stockout_risk", at=DAY, **event):
    return apply_event(None, alert_event(type_, at=at, **event), alert_id=alert_id, now=at).state


def _holds(alert, now=DAY, open_alerts=(), silences=()):
    found = targets(alert, CONFIG, open_alerts=open_alerts, silences=silences, now=now)
    return [(t.match.receiver, t.held_by, t.detail) for t in found]


def test_plain_alert_is_delivered_to_its_route_with_its_group_key():
    [target] = targets(_alert("a1"), CONFIG, open_alerts=[], silences=[], now=DAY)
    # no group_by configured: the alert is a group of its own, keyed by its identity labels
    assert target.deliver and target.group_key == \
        '0/ops/{location="store-12",po_id="",sku="SKU-1",supplier_id="",type="stockout_risk"}'


def test_silence_holds_every_route_and_names_the_silence():
    silence = Silence("s-9", (parse_matcher("sku=SKU-1"),), DAY, DAY + timedelta(hours=1), "count", "ops")
    alert = _alert("a1", category="fresh")
    assert _holds(alert, silences=[silence]) == [("audit", "silenced", "s-9")]
    assert _holds(alert, now=DAY + timedelta(hours=1), silences=[silence]) == [("audit", None, None)]


def test_open_late_po_inhibits_and_resolved_one_does_not():
    stockout = _alert("a1")
    late = _alert("p1", "po_late", key="po_late:PO-1", location="dc-1")
    assert _holds(stockout, open_alerts=[late, stockout]) == [("ops", "inhibited", "po_late:PO-1")]
    closed = resolve(late, actor="buyer", comment=None, now=DAY).state
    assert _holds(stockout, open_alerts=[closed]) == [("ops", None, None)]


def test_mute_interval_holds_only_its_route():
    alert = _alert("a1", category="fresh")
    assert _holds(alert, now=DAY.replace(hour=12, minute=30)) == [("audit", "muted", None)]


def test_quiet_hours_hold_low_severity_until_morning_then_group_retries():
    night = DAY.replace(hour=23)
    info = _alert("a1", severity="info", at=night)
    critical = _alert("a2", severity="critical", sku="SKU-2", at=night)
    assert _holds(info, now=night) == [("ops", "quiet_hours", None)]
    assert _holds(critical, now=night) == [("ops", None, None)]
    # The flush sends the critical alert and holds the info one: the group stays due every group_interval.
    match = targets(info, CONFIG, open_alerts=[], silences=[], now=night)[0].match
    group = with_alert(with_alert(new_group("g", night), "a1", 1, firing=True), "a2", 1, firing=True)
    group = after_flush(group, night, held=["a1"])
    assert set(group.members) == {"a1", "a2"} and dict(group.flushed) == {"a2": 1}
    decision = flush_due(group, match, night + timedelta(minutes=5))
    assert decision is not None and decision.reason == "changed"


def test_low_severity_resolution_also_waits_for_morning():
    night = DAY.replace(hour=23)
    closed = resolve(_alert("a1", severity="info", at=night), actor="source", comment=None, now=night).state
    assert _holds(closed, now=night) == [("ops", "quiet_hours", None)]
    assert _holds(closed, now=night + timedelta(hours=8)) == [("ops", None, None)]


