"""Config loading: the docs/contract.md §6 minimal file, defaults, inheritance inputs and path-precise errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify.config import ConfigError
from services.notify.config_load import default_config, load_config, parse_config
from services.notify.domain import alert_labels, is_inhibited, route
from services.notify.domain.routing import group_labels
from tests.notify.conftest import alert_event, config_from

CONTRACT_MINIMAL = """\
notify:
  receivers:
    - name: ops-chat
      urls: ["json://127.0.0.1:9999/alerts"]
  route:
    receiver: ops-chat
    group_wait: 0s
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from(text)
    return caught.value.problems


def test_contract_minimal_file_validates_as_written(tmp_path):
    path = tmp_path / "replenish.yaml"
    path.write_text("kafka: ignored\n" + CONTRACT_MINIMAL)
    config = load_config(path)
    assert config.receivers[0].name == "ops-chat"
    assert config.receivers[0].locale == "en" and config.receivers[0].send_resolved is True
    assert config.route.group_wait == timedelta(0)
    match = route(alert_labels(alert_event()), config)[0]
    assert (match.receiver, match.group_wait, match.group_interval, match.repeat_interval) == (
        "ops-chat", timedelta(0), timedelta(minutes=5), timedelta(hours=4))
    # no group_by in the file: each alert is its own group, so a second alert at the same store is not held back
    # for group_interval behind the first one's message
    other = route(alert_labels(alert_event(sku="SKU-OTHER")), config)[0]
    assert match.group_by == other.group_by and group_labels(alert_labels(alert_event()), match.group_by) != \
        group_labels(alert_labels(alert_event(sku="SKU-OTHER")), other.group_by)


def test_missing_path_gives_builtin_default_that_routes_supplier_alerts_per_supplier():
    config = load_config(None)
    assert config == default_config()
    po_late = alert_event("po_late", sku=None, location=None, supplier_id="SUP-1", key="po_late:PO-1")
    labels = alert_labels(po_late)
    assert route(labels, config)[0].group_by == ("supplier_id",)
    assert route(alert_labels(alert_event()), config)[0].group_by == ("location",)


def test_default_inhibit_rules_ship_when_key_absent_and_can_be_turned_off():
    stockout = alert_labels(alert_event())
    po_late = alert_labels(alert_event("po_late", location="dc-1", key="po_late:PO-9"))
    shipped = parse_config({"notify": {"receivers": [{"name": "a"}], "route": {"receiver": "a"}}})
    assert is_inhibited(stockout, [po_late], shipped.inhibit_rules)
    base = {"receivers": [{"name": "a"}], "route": {"receiver": "a"}}
    off = parse_config({"notify": {**base, "inhibit_rules": []}})
    assert not is_inhibited(stockout, [po_late], off.inhibit_rules)


def test_invalid_duration_is_reported_with_its_path():
    problems = _problems("""
        notify:
          receivers: [{name: ops, urls: ["json://h/a"]}]
          route:
            receiver: ops
            routes:
              - matchers: [severity=critical]
              - matchers: [severity=info]
                group_wait: 5x
        """)
    assert problems == [
        "notify.route.routes[1].group_wait: invalid duration '5x' (use e.g. '30s', '5m', '4h')"
    ]


def test_every_problem_is_listed_at_once():
    problems = _problems("""
        notify:
          receivers:
            - {name: ops, urls: ["not a url"], locale: fr, rate_limit: 0}
            - {name: ops}
          route:
            receiver: nobody
            recevier: typo
            routes:
              - {matchers: ["sku=~(unclosed"], escalation: ghost, mute_time_intervals: [lunch]}
          escalation_policies:
            - {name: p, steps: [{after: 5m, receivers: [pager]}]}
        """)
    expected_paths = [
        "notify.receivers[0].urls[0]", "notify.receivers[0].locale", "notify.receivers[0].rate_limit",
        "notify.route.recevier", "notify.route.routes[0].matchers[0]", "notify.receivers",
        "notify.route.receiver", "notify.route.routes[0].mute_time_intervals",
        "notify.route.routes[0].escalation",
        "notify.escalation_policies[0].steps[0].receivers",
    ]
    for path in expected_paths:
        assert any(p.startswith(path + ":") for p in problems), (path, problems)
    assert "notify.route.recevier: unknown key" in problems
    assert "notify.receivers: duplicate name 'ops'" in problems
    assert "notify.route.receiver: unknown receiver 'nobody'" in problems


def test_root_route_needs_a_receiver_and_no_matchers():
    problems = _problems("""
        notify:
          receivers: [{name: ops}]
          route: {matchers: [severity=critical]}
        """)
    assert any(p.startswith("notify.route.receiver: required") for p in problems)
    assert any(p.startswith("notify.route.matchers:") for p in problems)


def test_missing_notify_section_and_bad_yaml_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="notify: required"):
        parse_config({"kafka": "x"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("notify: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_time_interval_fields_are_validated():
    problems = _problems("""
        notify:
          receivers: [{name: ops}]
          route: {receiver: ops}
          time_intervals:
            - {name: n, timezone: Mars/Base, weekdays: [funday], times: [{start: "25:00", end: "07:00"}]}
        """)
    assert "notify.time_intervals[0].timezone: unknown timezone 'Mars/Base'" in problems
    assert any(p.startswith("notify.time_intervals[0].weekdays: invalid weekday 'funday'") for p in problems)
    assert any(p.startswith("notify.time_intervals[0].times[0].start: invalid time of day '25:00'")
               for p in problems)


def test_escalation_steps_out_of_order_are_rejected():
    problems = _problems("""
        notify:
          receivers: [{name: ops}]
          route: {receiver: ops}
          escalation_policies:
            - name: p
              steps: [{after: 10m, receivers: [ops]}, {after: 5m, receivers: [ops]}]
        """)
    assert problems == ["notify.escalation_policies[0].steps: steps must be listed in order of `after`"]


def test_named_lookup_of_unknown_receiver_raises_key_error():
    with pytest.raises(KeyError, match="unknown receiver 'ghost'"):
        default_config().receiver("ghost")


def test_empty_time_range_is_rejected():
    problems = _problems("""
        notify:
          receivers: [{name: ops}]
          route: {receiver: ops}
          time_intervals: [{name: n, times: [{start: "08:00", end: "08:00"}]}]
        """)
    assert problems == ["notify.time_intervals[0].times[0]: start equals end: the range is empty"]


def test_flap_window_defaults_to_five_minutes_and_can_be_set():
    assert config_from(CONTRACT_MINIMAL).flap_window == timedelta(minutes=5)
    assert config_from(CONTRACT_MINIMAL + "  flap_window: 90s\n").flap_window == timedelta(seconds=90)


def test_po_email_section_is_optional_and_needs_a_mail_url():
    assert config_from(CONTRACT_MINIMAL).po_email is None
    config = config_from(CONTRACT_MINIMAL + "  po_email:\n    url: mailtos://u:p@smtp.example.com\n"
                         "    from: po@shop.example\n    bcc: [buyer@shop.example]\n")
    assert config.po_email.url == "mailtos://u:p@smtp.example.com" and config.po_email.from_ == "po@shop.example"
    assert config.po_email.bcc == ["buyer@shop.example"] and config.po_email.locale == "en"
    problems = _problems(CONTRACT_MINIMAL + "  po_email:\n    url: json://h/x\n")
    assert problems == ["notify.po_email.url: expected a mailto:// or mailtos:// Apprise URL, got 'json://h/x'"]
