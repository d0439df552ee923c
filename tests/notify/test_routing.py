"""Routing tree: matcher operators, first-match-wins, `continue`, inheritance, group keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.notify.domain import alert_labels, group_key, parse_matcher, route
from tests.notify.conftest import alert_event, config_from

TREE = """
notify:
  receivers: [{name: ops}, {name: store-mgr}, {name: buyers}, {name: pager}, {name: audit}]
  escalation_policies: [{name: crit, steps: [{after: 0s, receivers: [pager]}]}]
  route:
    receiver: ops
    group_by: [location]
    group_wait: 30s
    routes:
      - matchers: ['type=~"po_late|supplier_unresponsive"']
        receiver: buyers
        group_by: [supplier_id]
        repeat_interval: 1h
      - matchers: ["location=~store-.*", "severity!=info"]
        receiver: store-mgr
        group_interval: 2m
        continue: true
        routes:
          - matchers: [severity=critical]
            receiver: pager
            escalation: crit
      - matchers: ['category!~"fresh|frozen"']
        receiver: audit
"""


@pytest.fixture
def tree():
    return config_from(TREE)


def _receivers(tree, **event):
    return [m.receiver for m in route(alert_labels(alert_event(**event)), tree)]


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("severity=critical", {"severity": "critical"}, True),
        ('severity="critical"', {"severity": "warning"}, False),
        ("sku!=SKU-1", {"sku": "SKU-2"}, True),
        ("sku!=SKU-1", {}, True),  # a missing label is "", which differs from SKU-1
        ('location=~"store-1[0-9]"', {"location": "store-12"}, True),
        ('location=~"store-1"', {"location": "store-12"}, False),  # regexes are anchored
        ('type!~"po_.*"', {"type": "po_late"}, False),
        ('supplier_id=""', {}, True),
    ],
)
def test_matcher_operators_follow_alertmanager(text, labels, expected):
    assert parse_matcher(text).matches(labels) is expected


def test_first_matching_child_wins_without_continue(tree):
    late = {"type_": "po_late", "supplier_id": "SUP-1", "location": "store-12", "severity": "critical"}
    assert _receivers(tree, **late) == ["buyers"]


def test_continue_lets_later_siblings_match_too(tree):
    assert _receivers(tree, severity="warning", category="dairy") == ["store-mgr", "audit"]


def test_nested_child_replaces_parent_and_inherits_unset_settings(tree):
    matches = route(alert_labels(alert_event(severity="critical", category="fresh")), tree)
    assert [m.receiver for m in matches] == ["pager"]
    pager = matches[0]
    assert pager.route_id == "0.1.0"
    assert pager.escalation == "crit"
    assert pager.group_interval == timedelta(minutes=2)  # from store-mgr
    assert pager.group_wait == timedelta(seconds=30)  # from root
    assert pager.group_by == ("location",)  # from root
    assert pager.repeat_interval == timedelta(hours=4)  # built-in root default


def test_alert_matching_no_child_falls_back_to_root(tree):
    matches = route(alert_labels(alert_event(severity="info", category="frozen")), tree)
    assert [(m.route_id, m.receiver) for m in matches] == [("0", "ops")]


def test_labels_dict_and_typed_fields_both_route(tree):
    # The alert's free-form labels are matchable; typed fields win over a clashing free label.
    labels = alert_labels(alert_event(severity="info", labels={"category": "fresh", "severity": "critical"}))
    assert labels["severity"] == "info" and labels["category"] == "fresh"
    assert [m.receiver for m in route(labels, tree)] == ["ops"]


def test_group_key_groups_per_store_and_separates_routes(tree):
    a = alert_labels(alert_event(sku="SKU-1", severity="warning", category="fresh"))
    b = alert_labels(alert_event(sku="SKU-2", severity="warning", category="fresh"))
    c = alert_labels(alert_event(sku="SKU-1", location="store-7", severity="warning", category="fresh"))
    [ma], [mb], [mc] = route(a, tree), route(b, tree), route(c, tree)
    assert group_key(ma, a) == group_key(mb, b) == '0.1/store-mgr/{location="store-12"}'
    assert group_key(mc, c) != group_key(ma, a)


def test_group_by_ellipsis_makes_one_group_per_alert(tree):
    match = route(alert_labels(alert_event(severity="info", category="fresh")), tree)[0]
    every = replace(match, group_by=("...",))
    k1 = group_key(every, alert_labels(alert_event(sku="SKU-1")))
    k2 = group_key(every, alert_labels(alert_event(sku="SKU-2")))
    assert k1 != k2 and 'sku="SKU-1"' in k1
