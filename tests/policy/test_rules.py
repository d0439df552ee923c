"""Rules engine: parsing, errors naming the field path, matching, time-phased overrides, examples."""

from datetime import date

import pytest

from services.policy.domain.model import PolicyParams
from services.policy.domain.rules import RuleError, apply_rules, parse_rules, policy_event_rule

BASE = PolicyParams(lead_time_days=7)
DAY = date(2026, 11, 22)

SUPPLIER_A_LOW_STOCK = {
    "version": 3,
    "rules": [{
        "id": "supplier-a-low-stock", "version": 2,
        "when": {"all": [{"field": "supplier", "op": "eq", "value": "A"},
                         {"field": "on_hand", "op": "lt", "value": 20}]},
        "then": [{"action": "reorder"},
                 {"action": "route_alert", "receiver": "buyer-email", "alert_types": ["below_safety_stock"],
                  "fire": True}],
    }],
}


def test_supplier_a_below_20_creates_po_and_emails_buyer():
    rules = parse_rules(SUPPLIER_A_LOW_STOCK)
    out = apply_rules(rules, {"sku": "X", "supplier": "A", "on_hand": 19}, BASE, DAY)
    assert out.params.force_reorder is True
    assert out.receivers == ("buyer-email",)
    assert out.forced_alerts == ("below_safety_stock",)
    assert out.params.applied_rules == ("supplier-a-low-stock@v2",)
    assert rules.version == 3


def test_supplier_a_rule_ignores_other_suppliers_and_higher_stock():
    rules = parse_rules(SUPPLIER_A_LOW_STOCK)
    assert apply_rules(rules, {"supplier": "B", "on_hand": 5}, BASE, DAY).params.force_reorder is False
    assert apply_rules(rules, {"supplier": "A", "on_hand": 20}, BASE, DAY).matched == ()


def test_errors_name_the_field_path():
    bad = [{"id": "r1", "when": {"all": [{"field": "on_hand", "op": "lte", "value": 3}]},
            "then": [{"action": "set_service_level", "value": 1.5}]},
           {"id": "r1", "valid_from": "next week", "then": []}]
    with pytest.raises(RuleError) as err:
        parse_rules(bad)
    text = "\n".join(err.value.errors)
    assert "rules[0].when.all[0].op: 'lte' is not an operator for on_hand" in text
    assert "rules[0].then[0].value: must be a number between 0 and 1, got 1.5" in text
    assert "rules[1].valid_from: must be an ISO date" in text
    assert "rules[1].then: required" in text
    assert "id 'r1' is used twice" in text


def test_unknown_field_and_action_are_rejected():
    with pytest.raises(RuleError, match=r"rules\[0\]\.when\.field: 'colour' is not a field"):
        parse_rules([{"id": "x", "when": {"field": "colour", "op": "eq", "value": "red"},
                      "then": [{"action": "do_not_stock"}]}])
    with pytest.raises(RuleError, match=r"rules\[0\]\.then\[0\]\.action: 'explode' is not an action"):
        parse_rules([{"id": "x", "then": [{"action": "explode"}]}])


def test_seasonal_override_applies_only_inside_its_window():
    rules = parse_rules([{"id": "xmas", "valid_from": "2026-12-01", "valid_to": "2026-12-31",
                          "when": {"field": "category", "op": "in", "value": ["pasta", "sauce"]},
                          "then": [{"action": "set_service_level", "value": 0.99},
                                   {"action": "set_safety_days", "value": 3}]}])
    ctx = {"category": "pasta"}
    assert apply_rules(rules, ctx, BASE, date(2026, 12, 24)).params.service_level == 0.99
    assert apply_rules(rules, ctx, BASE, date(2026, 12, 24)).params.safety_days == 3
    assert apply_rules(rules, ctx, BASE, date(2027, 1, 1)).params.service_level == 0.95


def test_higher_priority_wins_and_class_glob_and_dates_match():
    rules = parse_rules([
        {"id": "a-class", "priority": 1, "when": {"field": "class", "op": "glob", "value": "A*"},
         "then": [{"action": "set_service_level", "value": 0.98}]},
        {"id": "store-9", "priority": 5, "when": {"all": [
            {"field": "location", "op": "eq", "value": "store-9"},
            {"field": "date", "op": "between", "value": ["2026-11-01", "2026-11-30"]}]},
         "then": [{"action": "set_service_level", "value": 0.9}, {"action": "require_approval"}]},
    ])
    out = apply_rules(rules, {"abc": "A", "xyz": "Z", "location": "store-9"}, BASE, DAY)
    assert out.params.service_level == 0.9 and out.params.require_approval
    assert apply_rules(rules, {"abc": "A", "location": "s1"}, BASE, DAY).params.service_level == 0.98


def test_policy_event_becomes_a_scoped_override_rule():
    rule = policy_event_rule({"sku": "SKU-1", "location": "store-1", "service_level": 0.97, "max": 200})
    rules = parse_rules([rule])
    hit = apply_rules(rules, {"sku": "SKU-1", "location": "store-1"}, BASE, DAY).params
    assert (hit.service_level, hit.max_level) == (0.97, 200)
    assert apply_rules(rules, {"sku": "SKU-2", "location": "store-1"}, BASE, DAY).params.max_level is None
