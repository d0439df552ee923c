"""The `notify:` section of the YAML config as pydantic models (the schema); loading lives in config_load."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    field_validator,
    model_validator,
)

from services.notify.domain.channels import url_scheme
from services.notify.domain.durations import format_duration, parse_duration
from services.notify.domain.matchers import Matcher, parse_matcher

Severity = Literal["info", "warning", "critical"]
Locale = Literal["zh", "en"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Duration = Annotated[timedelta, PlainValidator(parse_duration), PlainSerializer(format_duration)]
MatcherField = Annotated[
    Matcher, PlainValidator(lambda v: v if isinstance(v, Matcher) else parse_matcher(v)), PlainSerializer(str)
]


class ConfigError(ValueError):
    """Every problem found in a config, each as '<path>: <message>'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid notify config:\n  " + "\n  ".join(problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_url(url: str) -> str:
    if not isinstance(url, str) or not url_scheme(url):
        raise ValueError(f"invalid Apprise URL {url!r} (expected scheme://…, e.g. json://host/path)")
    return url


class Receiver(_Model):
    name: str = Field(min_length=1)
    # An empty list is allowed: the alert is still recorded and logged, just sent nowhere.
    urls: list[Annotated[str, PlainValidator(_check_url)]] = []
    locale: Locale = "en"
    send_resolved: bool = True
    rate_limit: int | None = Field(default=None, gt=0, description="max messages per minute")


class Route(_Model):
    receiver: str | None = None
    matchers: list[MatcherField] = []
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] = []
    active_time_intervals: list[str] = []
    escalation: str | None = None
    routes: list[Route] = []


class InhibitRule(_Model):
    source_matchers: list[MatcherField] = Field(min_length=1)
    target_matchers: list[MatcherField] = Field(min_length=1)
    equal: list[str] = []


def _minute_of_day(text: Any) -> int:
    hours, sep, minutes = str(text).partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
        value = int(hours) * 60 + int(minutes)
        if int(minutes) < 60 and value <= 24 * 60:
            return value
    raise ValueError(f"invalid time of day '{text}' (expected HH:MM, 00:00 to 24:00)")


def _weekdays(items: Any) -> frozenset[int]:
    days: set[int] = set()
    for item in items if isinstance(items, list) else [items]:
        first, _, last = str(item).lower().partition(":")
        start, end = _weekday(first), _weekday(last or first)
        days.update((start + k) % 7 for k in range((end - start) % 7 + 1))
    return frozenset(days)


def _weekday(name: str) -> int:
    for index, day in enumerate(WEEKDAYS):
        if name.strip() in (day, day[:3]):
            return index
    raise ValueError(f"invalid weekday '{name}' (expected monday … sunday or a range monday:friday)")


def _timezone(name: Any) -> str:
    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone '{name}'") from None
    return str(name)


class TimeRange(_Model):
    """Local wall-clock range; start > end means it runs past midnight (22:00 → 07:00)."""

    start: Annotated[int, PlainValidator(_minute_of_day)]
    end: Annotated[int, PlainValidator(_minute_of_day)]

    @model_validator(mode="after")
    def _not_empty(self) -> TimeRange:
        if self.start == self.end:
            raise ValueError("start equals end: the range is empty")
        return self


class TimeInterval(_Model):
    name: str = Field(min_length=1)
    timezone: Annotated[str, PlainValidator(_timezone)] = "UTC"
    weekdays: Annotated[frozenset[int], PlainValidator(_weekdays)] = frozenset()  # empty: every day
    times: list[TimeRange] = []  # empty: all day


class QuietHours(_Model):
    time_intervals: list[str] = Field(min_length=1)
    severities: list[Severity] = ["info", "warning"]


class EscalationStep(_Model):
    after: Duration
    receivers: list[str] = Field(min_length=1)


class EscalationPolicy(_Model):
    """Steps fire while the alert stays unacknowledged; after the last, the cycle restarts `repeat` times."""

    name: str = Field(min_length=1)
    steps: list[EscalationStep] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0)
    repeat_after: Duration = timedelta(minutes=30)

    @field_validator("steps")
    @classmethod
    def _steps_in_order(cls, steps: list[EscalationStep]) -> list[EscalationStep]:
        afters = [step.after for step in steps]
        if afters != sorted(afters):
            raise ValueError("steps must be listed in order of `after`")
        return steps


def _check_mail_url(url: str) -> str:
    if not isinstance(url, str) or url_scheme(url) not in ("mailto", "mailtos"):
        raise ValueError(f"expected a mailto:// or mailtos:// Apprise URL, got {url!r}")
    return url


class PoEmail(_Model):
    """How purchase orders reach suppliers without a webhook: this mail server, the supplier as recipient."""

    url: Annotated[str, PlainValidator(_check_mail_url)]
    from_: str | None = Field(default=None, alias="from")
    bcc: list[str] = []
    locale: Locale = "en"


class NotifyConfig(_Model):
    public_url: str = "http://127.0.0.1:8005"
    # A refire this soon after a resolve is the same episode flapping: the acknowledgement is kept.
    flap_window: Duration = timedelta(minutes=5)
    po_email: PoEmail | None = None
    receivers: list[Receiver] = Field(min_length=1)
    route: Route
    inhibit_rules: list[InhibitRule] = Field(default_factory=lambda: default_inhibit_rules())
    time_intervals: list[TimeInterval] = []
    quiet_hours: QuietHours | None = None
    escalation_policies: list[EscalationPolicy] = []

    def receiver(self, name: str) -> Receiver:
        return _named(self.receivers, name, "receiver")

    def time_interval(self, name: str) -> TimeInterval:
        return _named(self.time_intervals, name, "time interval")

    def escalation_policy(self, name: str) -> EscalationPolicy:
        return _named(self.escalation_policies, name, "escalation policy")


def _named(items: list[Any], name: str, what: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"unknown {what} '{name}'")


def default_inhibit_rules() -> list[InhibitRule]:
    """A late PO for the SKU or a stale feed at the location explains the stockout_risk: send the cause."""
    return [
        InhibitRule(source_matchers=["type=po_late"], target_matchers=["type=stockout_risk"], equal=["sku"]),
        InhibitRule(
            source_matchers=["type=feed_stale"], target_matchers=["type=stockout_risk"], equal=["location"]
        ),
    ]
