"""Inhibition (a cause mutes the alerts it explains) and silences (runtime mutes that expire)."""

from __future__ import annotations

from datetime import timedelta

from services.notify.config import default_inhibit_rules
from services.notify.domain import (
    Silence,
    alert_labels,
    inhibited_by,
    is_inhibited,
    is_silenced,
    parse_matcher,
    silence_problems,
    silenced_by,
)
from tests.notify.conftest import T0, alert_event, config_from

RULES = default_inhibit_rules()
STOCKOUT = alert_labels(alert_event(sku="SKU-1", location="store-12"))


def test_late_po_for_same_sku_inhibits_stockout_risk():
    po_late = alert_labels(alert_event("po_late", sku="SKU-1", location="dc-1", key="po_late:PO-7"))
    assert inhibited_by(STOCKOUT, [po_late], RULES) == po_late


def test_late_po_for_other_sku_does_not_inhibit():
    po_late = alert_labels(alert_event("po_late", sku="SKU-2", location="store-12", key="po_late:PO-8"))
    assert not is_inhibited(STOCKOUT, [po_late], RULES)


def test_stale_feed_at_same_location_inhibits_but_not_elsewhere():
    here = alert_labels(alert_event("feed_stale", sku=None, location="store-12", key="feed_stale:pos/12"))
    there = alert_labels(alert_event("feed_stale", sku=None, location="store-7", key="feed_stale:pos/7"))
    assert is_inhibited(STOCKOUT, [here], RULES)
    assert not is_inhibited(STOCKOUT, [there], RULES)


def test_inhibition_only_targets_matching_alerts():
    overstock = alert_labels(alert_event("overstock"))
    po_late = alert_labels(alert_event("po_late", key="po_late:PO-7"))
    assert not is_inhibited(overstock, [po_late], RULES)


def test_equal_label_missing_on_both_sides_counts_as_equal_and_alert_never_inhibits_itself():
    config = config_from("""
        notify:
          receivers: [{name: ops}]
          route: {receiver: ops}
          inhibit_rules:
            - {source_matchers: [severity=critical], target_matchers: ['severity=~"warning|critical"'],
               equal: [supplier_id]}
        """)
    critical = alert_labels(alert_event("stockout", severity="critical"))
    warning = alert_labels(alert_event("overstock", severity="warning", sku="SKU-9"))
    assert is_inhibited(warning, [critical], config.inhibit_rules)
    assert not is_inhibited(critical, [critical], config.inhibit_rules)


def _silence(*matchers: str, hours: float = 2) -> Silence:
    return Silence("s1", tuple(parse_matcher(m) for m in matchers), T0, T0 + timedelta(hours=hours),
                   reason="stocktake at store-12", created_by="ops@store-12")


def test_silence_mutes_matching_alert_only_inside_its_window(clock):
    silence = _silence("location=store-12", 'type=~"stockout.*"')
    assert is_silenced(STOCKOUT, [silence], clock.now)
    assert not is_silenced(alert_labels(alert_event(location="store-7")), [silence], clock.now)
    clock.advance(hours=1, minutes=59)
    assert silenced_by(STOCKOUT, [silence], clock.now) == [silence]
    clock.advance(minutes=1)  # ends_at is exclusive: expired
    assert not is_silenced(STOCKOUT, [silence], clock.now)
    assert silence.expired(clock.now)


def test_silence_not_started_yet_does_not_mute():
    later = Silence("s2", (parse_matcher("sku=SKU-1"),), T0 + timedelta(hours=1), T0 + timedelta(hours=2),
                    "planned", "ops")
    assert not is_silenced(STOCKOUT, [later], T0)
    assert is_silenced(STOCKOUT, [later], T0 + timedelta(hours=1))


def test_silence_requests_that_would_mute_everything_or_never_end_are_rejected():
    assert silence_problems([parse_matcher("sku=SKU-1")], T0, T0 + timedelta(hours=1)) == []
    assert silence_problems([], T0, T0 + timedelta(hours=1)) == ["matchers: at least one matcher is required"]
    catch_all = silence_problems([parse_matcher('sku=~".*"')], T0, T0 + timedelta(hours=1))
    assert catch_all and "silence all" in catch_all[0]
    assert silence_problems([parse_matcher("sku=SKU-1")], T0, T0) == ["ends_at: must be after starts_at"]
