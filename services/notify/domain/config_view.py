"""The parts of the notify configuration that the rules read, as the domain sees them.

`services/notify/config.py` (pydantic, parsed from YAML) satisfies these protocols; the domain names only
them, so it does not depend on the module that parses the file (which itself uses the domain's matchers and
durations). Members are read-only properties: the rules never change the configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from services.notify.domain.matchers import Matcher


class RouteNode(Protocol):
    """One node of the routing tree; unset settings (None) come from the parent node."""

    @property
    def receiver(self) -> str | None: ...
    @property
    def matchers(self) -> Sequence[Matcher]: ...
    @property
    def continue_(self) -> bool: ...
    @property
    def group_by(self) -> Sequence[str] | None: ...
    @property
    def group_wait(self) -> timedelta | None: ...
    @property
    def group_interval(self) -> timedelta | None: ...
    @property
    def repeat_interval(self) -> timedelta | None: ...
    @property
    def escalation(self) -> str | None: ...
    @property
    def mute_time_intervals(self) -> Sequence[str]: ...
    @property
    def active_time_intervals(self) -> Sequence[str]: ...
    @property
    def routes(self) -> Sequence[RouteNode]: ...


class InhibitionRule(Protocol):
    """A source alert matching `source_matchers` mutes targets that share the `equal` labels' values."""

    @property
    def source_matchers(self) -> Sequence[Matcher]: ...
    @property
    def target_matchers(self) -> Sequence[Matcher]: ...
    @property
    def equal(self) -> Sequence[str]: ...


class TimeSpan(Protocol):
    """Minutes of the day, [start, end); end < start crosses midnight."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


class Interval(Protocol):
    """Weekdays (0 = Monday; empty: every day) and time spans (empty: all day) on a timezone's wall clock."""

    @property
    def timezone(self) -> str: ...
    @property
    def weekdays(self) -> frozenset[int]: ...
    @property
    def times(self) -> Sequence[TimeSpan]: ...


class QuietHoursView(Protocol):
    @property
    def time_intervals(self) -> Sequence[str]: ...
    @property
    def severities(self) -> Sequence[str]: ...


class EscalationStepView(Protocol):
    @property
    def after(self) -> timedelta: ...
    @property
    def receivers(self) -> Sequence[str]: ...


class EscalationPolicyView(Protocol):
    """Steps in order of `after`, then `repeat` more cycles, a cycle lasting the last step + `repeat_after`."""

    @property
    def steps(self) -> Sequence[EscalationStepView]: ...
    @property
    def repeat(self) -> int: ...
    @property
    def repeat_after(self) -> timedelta: ...


class ConfigView(Protocol):
    """The whole configuration, as routing, time intervals and inhibition read it."""

    @property
    def route(self) -> RouteNode: ...
    @property
    def inhibit_rules(self) -> Sequence[InhibitionRule]: ...
    @property
    def quiet_hours(self) -> QuietHoursView | None: ...
    def time_interval(self, name: str) -> Interval: ...
