"""What normalizing one event can come to: published, waiting for master data, or rejected."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.events.canonical import CanonicalEvent

PendingReason = Literal["unknown_sku", "unknown_location", "unknown_supplier"]


@dataclass(frozen=True)
class Normalized:
    """The canonical topic record: publish `payload` to `topic` under `key`."""

    event: CanonicalEvent
    topic: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Pending:
    """Valid, but names master data not known yet; kept and retried once it arrives."""

    event: CanonicalEvent
    reason: PendingReason
    detail: str


@dataclass(frozen=True)
class Rejected:
    errors: list[str]
    event: CanonicalEvent | None = None


@dataclass(frozen=True)
class Unreadable:
    """A record another door could not turn into an event (a bad CSV row, a record the mapping rejects)."""

    errors: list[str]
    id: str | None = None


Outcome = Normalized | Pending | Rejected
