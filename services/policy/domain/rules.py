"""Declarative rules engine: parse versioned rule sets, match them on a SKU-location, apply actions."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from .model import PolicyParams
from .rules_schema import ACTIONS, DATE_FIELDS, NUMBER_FIELDS, RuleError, check_rule

__all__ = ["RuleError", "RuleOutcome", "RuleSet", "apply_rules", "parse_rules", "policy_event_rule"]


@dataclass(frozen=True)
class RuleSet:
    """A validated, versioned set of rules; applied in priority order, later rules win."""

    version: int
    rules: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RuleOutcome:
    params: PolicyParams
    receivers: tuple[str, ...] = ()
    forced_alerts: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_rules(data: Any) -> RuleSet:
    """Validate `{"version": n, "rules": [...]}` or a bare list; raise RuleError listing every problem."""
    doc = {"version": 1, "rules": data} if isinstance(data, list) else data
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise RuleError(["rules: must be a list of rule objects"])
    errors = [e for i, r in enumerate(doc["rules"]) for e in check_rule(r, f"rules[{i}]")]
    ids = [r.get("id") for r in doc["rules"] if isinstance(r, dict)]
    errors += [f"rules: id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1 and i})]
    if errors:
        raise RuleError(errors)
    ordered = sorted(doc["rules"], key=lambda r: r.get("priority", 0))
    return RuleSet(int(doc.get("version", 1)), tuple(ordered))


def _field_value(name: str, ctx: dict[str, Any], on: date) -> Any:
    if name == "date":
        return on
    if name == "month":
        return on.month
    if name == "weekday":
        return on.isoweekday()
    if name == "class":
        return f"{ctx.get('abc', '')}{ctx.get('xyz', '')}"
    return ctx.get(name)


def _compare(op: str, actual: Any, value: Any, as_date: bool) -> bool:
    conv = date.fromisoformat if as_date else (lambda v: v)
    if op == "glob":
        return fnmatch.fnmatchcase(str(actual), value)
    if op in ("in", "not_in"):
        return (actual in [conv(v) for v in value]) == (op == "in")
    if op == "between":
        return conv(value[0]) <= actual <= conv(value[1])
    v = conv(value)
    return {"eq": actual == v, "ne": actual != v, "lt": actual < v, "le": actual <= v,
            "gt": actual > v, "ge": actual >= v}[op]


def matches(cond: dict[str, Any] | None, ctx: dict[str, Any], on: date) -> bool:
    """Whether a condition holds; a field missing from the context never matches (except `ne`)."""
    if cond is None:
        return True
    if "all" in cond:
        return all(matches(c, ctx, on) for c in cond["all"])
    if "any" in cond:
        return any(matches(c, ctx, on) for c in cond["any"])
    if "not" in cond:
        return not matches(cond["not"], ctx, on)
    actual = _field_value(cond["field"], ctx, on)
    if actual is None:
        return cond["op"] in ("ne", "not_in")
    if cond["field"] in NUMBER_FIELDS and not isinstance(actual, int | float):
        return False
    return _compare(cond["op"], actual, cond["value"], cond["field"] in DATE_FIELDS)


def _in_force(rule: dict[str, Any], on: date) -> bool:
    start, end = rule.get("valid_from"), rule.get("valid_to")
    return (rule.get("enabled", True) and (start is None or date.fromisoformat(start) <= on)
            and (end is None or on <= date.fromisoformat(end)))


def apply_rules(rules: RuleSet, ctx: dict[str, Any], base: PolicyParams, on: date) -> RuleOutcome:
    """Params after every rule in force on `on` whose condition holds for `ctx`; the matched ids are
    recorded in params.applied_rules for the explanation."""
    changes: dict[str, Any] = {}
    receivers: list[str] = []
    forced: list[str] = []
    matched: list[str] = []
    for rule in rules.rules:
        if not (_in_force(rule, on) and matches(rule.get("when"), ctx, on)):
            continue
        matched.append(f"{rule['id']}@v{rule.get('version', 1)}")
        for action in rule["then"]:
            name = action["action"]
            if name == "route_alert":
                receivers.append(action["receiver"])
                forced += action.get("alert_types", []) if action.get("fire", False) else []
                continue
            changes[ACTIONS[name][0]] = action.get("value", True)
            if name in ("set_fill_rate", "set_service_level"):  # the last target set decides its kind
                changes["service_metric"] = "fill" if name == "set_fill_rate" else "cycle"
    params = replace(base, **changes, applied_rules=(*base.applied_rules, *matched))
    return RuleOutcome(params, tuple(dict.fromkeys(receivers)), tuple(dict.fromkeys(forced)), tuple(matched))


_POLICY_EVENT_ACTIONS = {"fill_rate": "set_fill_rate", "service_level": "set_service_level",
                         "review_days": "set_review_days",
                         "min": "set_min", "max": "set_max", "safety_days": "set_safety_days",
                         "fixed_order_cost": "set_fixed_order_cost", "holding_rate": "set_holding_rate"}


def policy_event_rule(data: dict[str, Any], version: int = 1, priority: int = 100) -> dict[str, Any] | None:
    """The rule dict for a docs/contract.md §3 `policy` event (a planner's override)."""
    keys = ("sku", "category", "location")
    scope = [{"field": f, "op": "eq", "value": data[f]} for f in keys if data.get(f)]
    then = [{"action": a, "value": data[k]}
            for k, a in _POLICY_EVENT_ACTIONS.items() if data.get(k) is not None]
    rule_id = "policy:" + ":".join(str(data.get(f) or "*") for f in ("sku", "category", "location"))
    if not then:  # nothing it sets that policy knows: no rule, rather than one that fails every decision
        return None
    rule = {"id": rule_id, "version": version, "priority": priority, "then": then}
    return rule | ({"when": {"all": scope}} if scope else {})
