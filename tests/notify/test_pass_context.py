"""A dispatcher pass's in-memory decisions: inhibition sources picked from one read, critical sends first."""
from __future__ import annotations

from services.notify.context import Candidates
from services.notify.domain import AlertState, apply_event
from services.notify.passwrites import severity_rank
from tests.notify.conftest import T0, alert_event, config_from

CONFIG = config_from("""
notify:
  receivers: [{name: chat, urls: ["json://127.0.0.1:9/a"]}]
  route: {receiver: chat}
""")  # the default inhibition rules: po_late by SKU, feed_stale by location


def alert(type_: str = "stockout_risk", **kw) -> AlertState:
    event = alert_event(type_, **kw)
    return apply_event(None, event, alert_id=event["key"], now=T0).state


def test_late_po_of_the_same_sku_is_a_source_and_other_skus_are_not():
    risk = alert(sku="SKU-1", location="store-12")
    late = alert("po_late", sku="SKU-1", location="dc-1", key="po_late:PO-7")
    other = alert("po_late", sku="SKU-2", location="store-12", key="po_late:PO-8")
    assert Candidates([late, other, risk], CONFIG).sources_for(risk) == [late]


def test_stale_feed_at_the_location_is_a_source_for_every_risk_there():
    stale = alert("feed_stale", sku=None, location="store-12", key="feed_stale:pos/12")
    risks = [alert(sku=f"SKU-{i}", location="store-12") for i in range(3)]
    elsewhere = alert(sku="SKU-9", location="store-7")
    found = Candidates([stale, *risks, elsewhere], CONFIG)
    assert [found.sources_for(r) for r in risks] == [[stale]] * 3
    assert found.sources_for(elsewhere) == []


def test_an_alert_that_no_rule_targets_has_no_sources():
    late = alert("po_late", sku="SKU-1", location="dc-1", key="po_late:PO-7")
    other = alert("po_late", sku="SKU-1", location="dc-2", key="po_late:PO-9")
    assert Candidates([late, other], CONFIG).sources_for(late) == []


def test_a_message_carrying_a_critical_alert_ranks_before_warnings():
    warning, critical = alert(sku="SKU-1"), alert(sku="SKU-2", severity="critical")
    assert severity_rank([warning, critical]) < severity_rank([warning]) < severity_rank([])
