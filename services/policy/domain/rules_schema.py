"""Validation of declarative policy rules (plain dicts / JSON) with errors naming the field path."""

from __future__ import annotations

from datetime import date
from typing import Any

TEXT_FIELDS = {"sku", "category", "location", "supplier", "abc", "xyz", "class"}
NUMBER_FIELDS = {"on_hand", "on_order", "backorder", "inventory_position", "daily_demand", "unit_cost",
                 "lead_time_days", "month", "weekday"}
DATE_FIELDS = {"date"}
TEXT_OPS = {"eq", "ne", "in", "not_in", "glob"}
ORDER_OPS = {"eq", "ne", "lt", "le", "gt", "ge", "between", "in", "not_in"}
ALERT_TYPES = {"stockout_risk", "below_safety_stock", "stockout", "overstock", "dead_stock"}
# action -> (PolicyParams field or None, value check, description of a valid value)
ACTIONS: dict[str, tuple[str | None, Any, str]] = {
    "set_service_level": ("service_level", lambda v: _num(v) and 0 < v < 1, "a number between 0 and 1"),
    # a target fill rate: the service level is then met as a fill rate (k from the loss function)
    "set_fill_rate": ("service_level", lambda v: _num(v) and 0 < v < 1, "a number between 0 and 1"),
    "set_min": ("min_level", lambda v: _num(v) and v >= 0, "a number ≥ 0"),
    "set_max": ("max_level", lambda v: _num(v) and v >= 0, "a number ≥ 0"),
    "set_review_days": ("review_days", lambda v: _num(v) and v > 0, "a number > 0"),
    "set_safety_days": ("safety_days", lambda v: _num(v) and v >= 0, "a number ≥ 0"),
    "set_fixed_order_cost": ("fixed_order_cost", lambda v: _num(v) and v >= 0, "a number ≥ 0"),
    "set_holding_rate": ("holding_rate", lambda v: _num(v) and v >= 0, "a number ≥ 0"),
    "do_not_stock": ("do_not_stock", lambda v: isinstance(v, bool), "true or false"),
    "require_approval": ("require_approval", lambda v: isinstance(v, bool), "true or false"),
    "reorder": ("force_reorder", lambda v: isinstance(v, bool), "true or false"),
    "route_alert": (None, None, ""),
}


class RuleError(ValueError):
    """Every problem found in a rule set, one line each, prefixed by the field path."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_date(v: Any) -> bool:
    try:
        date.fromisoformat(v)
        return True
    except (TypeError, ValueError):
        return False


def _check_value(path: str, field: str, op: str, value: Any) -> list[str]:
    ok = _is_date if field in DATE_FIELDS else (_num if field in NUMBER_FIELDS else _str)
    kind = "an ISO date" if field in DATE_FIELDS else ("a number" if field in NUMBER_FIELDS else "a string")
    if op in ("in", "not_in"):
        good = isinstance(value, list) and value and all(ok(v) for v in value)
        return [] if good else [f"{path}.value: '{op}' needs a non-empty list of {kind}s"]
    if op == "between":
        good = isinstance(value, list) and len(value) == 2 and all(ok(v) for v in value)
        return [] if good else [f"{path}.value: 'between' needs [low, high], each {kind}"]
    return [] if ok(value) else [f"{path}.value: must be {kind}, got {value!r}"]


def _str(v: Any) -> bool:
    return isinstance(v, str)


def check_condition(cond: Any, path: str) -> list[str]:
    if not isinstance(cond, dict):
        return [f"{path}: must be an object"]
    for combinator in ("all", "any"):
        if combinator in cond:
            items = cond[combinator]
            if not isinstance(items, list) or not items:
                return [f"{path}.{combinator}: must be a non-empty list of conditions"]
            return [e for i, c in enumerate(items) for e in check_condition(c, f"{path}.{combinator}[{i}]")]
    if "not" in cond:
        return check_condition(cond["not"], f"{path}.not")
    field, op = cond.get("field"), cond.get("op")
    known = TEXT_FIELDS | NUMBER_FIELDS | DATE_FIELDS
    if field not in known:
        return [f"{path}.field: {field!r} is not a field; use one of {', '.join(sorted(known))}"]
    ops = TEXT_OPS if field in TEXT_FIELDS else ORDER_OPS
    if op not in ops:
        return [f"{path}.op: {op!r} is not an operator for {field}; use one of {', '.join(sorted(ops))}"]
    if "value" not in cond:
        return [f"{path}.value: required"]
    return _check_value(path, field, op, cond["value"])


def check_action(action: Any, path: str) -> list[str]:
    if not isinstance(action, dict):
        return [f"{path}: must be an object"]
    name = action.get("action")
    if name not in ACTIONS:
        return [f"{path}.action: {name!r} is not an action; use one of {', '.join(sorted(ACTIONS))}"]
    if name == "route_alert":
        errors = [] if _str(action.get("receiver")) and action["receiver"] else [
            f"{path}.receiver: required, the name of a notify receiver"]
        bad = [t for t in action.get("alert_types", []) if t not in ALERT_TYPES]
        return errors + ([f"{path}.alert_types: unknown {bad}; use {sorted(ALERT_TYPES)}"] if bad else [])
    _, check, wanted = ACTIONS[name]
    value = action.get("value", True if check(True) else None)
    return [] if check(value) else [f"{path}.value: must be {wanted}, got {value!r}"]


def check_rule(rule: Any, path: str) -> list[str]:
    if not isinstance(rule, dict):
        return [f"{path}: must be an object"]
    errors = [] if _str(rule.get("id")) and rule["id"] else [f"{path}.id: required, a non-empty string"]
    version = rule.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        errors.append(f"{path}.version: must be an integer ≥ 1")
    for key in ("valid_from", "valid_to"):
        if rule.get(key) is not None and not _is_date(rule[key]):
            errors.append(f"{path}.{key}: must be an ISO date (YYYY-MM-DD), got {rule[key]!r}")
    if "when" in rule:
        errors += check_condition(rule["when"], f"{path}.when")
    then = rule.get("then")
    if not isinstance(then, list) or not then:
        return [*errors, f"{path}.then: required, a non-empty list of actions"]
    return errors + [e for i, a in enumerate(then) for e in check_action(a, f"{path}.then[{i}]")]
