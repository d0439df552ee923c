"""Alertmanager-style label matchers (=, !=, =~, !~) and the label set of an alert."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Alert fields that become labels, so routes and rules can match on them like on free-form labels.
LABEL_FIELDS = ("type", "severity", "location", "category", "supplier_id", "sku", "po_id")
_OPERATORS = ("=~", "!~", "!=", "=")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Matcher:
    """One condition on one label; a missing label counts as the empty string, as in Alertmanager."""

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "") or ""
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = self._regex is not None and self._regex.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def make_matcher(name: str, op: str, value: str) -> Matcher:
    """Build a matcher, compiling regexes (anchored at both ends, like Alertmanager)."""
    if not _NAME.match(name):
        raise ValueError(f"invalid label name '{name}'")
    if op not in _OPERATORS:
        raise ValueError(f"invalid operator '{op}' (use =, !=, =~ or !~)")
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression '{value}': {exc}") from None
    return Matcher(name, op, value, regex)


def parse_matcher(text: str) -> Matcher:
    """Parse `severity="critical"`, `type=~"po_late|feed_stale"` or the unquoted `sku!=SKU-1`."""
    if not isinstance(text, str):
        raise ValueError(f"invalid matcher {text!r} (expected a string like 'severity=critical')")
    for op in _OPERATORS:
        name, sep, value = text.partition(op)
        # "=" is a prefix of nothing else here, but "!=" / "=~" must win over "=": hence the order.
        if sep and not any(o in name for o in ("=", "!")):
            return make_matcher(name.strip(), op, _unquote(value.strip()))
    raise ValueError(f"invalid matcher '{text}' (expected e.g. 'severity=critical' or 'type=~\"a|b\"')")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def matches_all(labels: Mapping[str, str], matchers: Iterable[Matcher]) -> bool:
    """True when every matcher holds (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)


def alert_labels(alert: Mapping[str, Any] | Any) -> dict[str, str]:
    """The label set of an alert (event payload mapping or object): free labels, then its typed fields."""
    get = alert.get if isinstance(alert, Mapping) else lambda k, d=None: getattr(alert, k, d)
    labels = {str(k): str(v) for k, v in (get("labels") or {}).items() if v is not None}
    for name in LABEL_FIELDS:
        value = get(name)
        if value not in (None, ""):
            labels[name] = str(value)
    return labels
