"""Loading the notify config: YAML file → NotifyConfig, every problem with its path; the built-in default."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.notify.config import ConfigError, NotifyConfig

DEFAULT_CONFIG_YAML = """
notify:
  receivers:
    - name: ops
      urls: []            # recorded and shown in the API; add e.g. "json://host:port/alerts" to send
      locale: en
  route:
    receiver: ops
    group_by: [location]  # one digest per store
    group_wait: 10s
    group_interval: 1m
    repeat_interval: 4h
    routes:
      - matchers: ['type=~"po_late|supplier_unresponsive"']
        group_by: [supplier_id]   # one digest per supplier
        routes:
          - matchers: ["severity=critical"]
            escalation: critical
      - matchers: ["severity=critical"]
        escalation: critical
  time_intervals:
    - name: night
      timezone: UTC
      times: [{start: "22:00", end: "07:00"}]
  quiet_hours:
    time_intervals: [night]
    severities: [info]
  escalation_policies:
    - name: critical
      steps:
        - {after: 0s, receivers: [ops]}
        - {after: 15m, receivers: [ops]}
      repeat: 1
"""


def default_config() -> NotifyConfig:
    """The config `replenish up` runs with when REPLENISH_CONFIG is not set."""
    return parse_config(yaml.safe_load(DEFAULT_CONFIG_YAML))


def load_config(path: str | Path | None) -> NotifyConfig:
    """Read the `notify:` key of a YAML file (other keys ignored); None gives the built-in default."""
    if path is None:
        return default_config()
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    return parse_config(document)


def parse_config(document: Any) -> NotifyConfig:
    """Validate a parsed YAML document (the whole file); raise ConfigError listing every problem."""
    if not isinstance(document, Mapping) or not isinstance(document.get("notify"), Mapping):
        raise ConfigError(["notify: required (a mapping with receivers and route)"])
    raw = document["notify"]
    problems: list[str] = []
    try:
        config = NotifyConfig.model_validate(raw)
    except ValidationError as exc:
        config = None
        problems.extend(_describe(error) for error in exc.errors())
    problems.extend(_reference_problems(raw))
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _describe(error: Mapping[str, Any]) -> str:
    path = "notify"
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = {"missing": "required", "extra_forbidden": "unknown key"}.get(error["type"], error["msg"])
    return f"{path}: {message.removeprefix('Value error, ')}"


def _names(raw: Mapping[str, Any], key: str) -> list[str]:
    items = raw.get(key)
    if not isinstance(items, list):
        return []
    return [item["name"] for item in items if isinstance(item, Mapping) and isinstance(item.get("name"), str)]


def _reference_problems(raw: Mapping[str, Any]) -> list[str]:
    """Cross-references pydantic cannot see: names used by routes, quiet hours and policies must exist."""
    known = {key: _names(raw, key) for key in ("receivers", "time_intervals", "escalation_policies")}
    problems = [
        f"notify.{key}: duplicate name '{name}'"
        for key, names in known.items()
        for name in sorted({n for n in names if names.count(n) > 1})
    ]
    route = raw.get("route")
    if isinstance(route, Mapping):
        if not route.get("receiver"):
            problems.append("notify.route.receiver: required on the root route")
        if route.get("matchers"):
            problems.append("notify.route.matchers: the root takes every alert; put matchers on child routes")
        problems.extend(_route_problems(route, "notify.route", known))
    quiet = raw.get("quiet_hours")
    if isinstance(quiet, Mapping):
        problems.extend(_unknown(quiet.get("time_intervals"), known["time_intervals"],
                                 "notify.quiet_hours.time_intervals", "time interval"))
    for p, policy in enumerate(raw.get("escalation_policies") or []):
        steps = policy.get("steps") if isinstance(policy, Mapping) else None
        for s, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, Mapping):
                where = f"notify.escalation_policies[{p}].steps[{s}].receivers"
                problems.extend(_unknown(step.get("receivers"), known["receivers"], where, "receiver"))
    return problems


def _route_problems(route: Mapping[str, Any], path: str, known: dict[str, list[str]]) -> list[str]:
    problems = _unknown([route.get("receiver")] if route.get("receiver") else [], known["receivers"],
                        f"{path}.receiver", "receiver")
    for key in ("mute_time_intervals", "active_time_intervals"):
        problems += _unknown(route.get(key), known["time_intervals"], f"{path}.{key}", "time interval")
    if route.get("escalation"):
        problems += _unknown([route["escalation"]], known["escalation_policies"], f"{path}.escalation",
                             "escalation policy")
    children = route.get("routes")
    for index, child in enumerate(children if isinstance(children, list) else []):
        if isinstance(child, Mapping):
            problems += _route_problems(child, f"{path}.routes[{index}]", known)
    return problems


def _unknown(used: Any, known: list[str], path: str, what: str) -> list[str]:
    if not isinstance(used, list):
        return []
    missing = [name for name in used if isinstance(name, str) and name not in known]
    return [f"{path}: unknown {what} '{name}'" for name in missing]
