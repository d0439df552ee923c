"""Silences: runtime mutes with matchers and a validity window, created through the API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.matchers import Matcher, matches_all


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def expired(self, now: datetime) -> bool:
        return now >= self.ends_at


def silence_problems(matchers: Sequence[Matcher], starts_at: datetime, ends_at: datetime) -> list[str]:
    """Why a silence request is unacceptable (empty when fine): it must be bounded and must not mute all."""
    problems = []
    if not matchers:
        problems.append("matchers: at least one matcher is required")
    elif all(m.matches({}) for m in matchers):
        # Matchers that all accept the empty label would silence every alert, a classic foot-gun.
        problems.append("matchers: at least one matcher must not match an empty label (would silence all)")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        problems.append("starts_at/ends_at: timezone required")
    elif ends_at <= starts_at:
        problems.append("ends_at: must be after starts_at")
    return problems


def silenced_by(alert_labels: Mapping[str, str], silences: Iterable[Silence], now: datetime) -> list[Silence]:
    """Active silences whose matchers all hold for the alert."""
    return [s for s in silences if s.active(now) and matches_all(alert_labels, s.matchers)]


def is_silenced(alert_labels: Mapping[str, str], silences: Iterable[Silence], now: datetime) -> bool:
    return bool(silenced_by(alert_labels, silences, now))
