"""What a consumer declares about event types: those it handles, those it knowingly skips; anything else is
an unknown type, dead-lettered with its reason instead of consumed silently (docs/contract.md §12)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    HANDLE = "handle"
    SKIP = "skip"  # another reader's type on a shared topic, or a newer type this version need not apply
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class EventTypes:
    """One consumer's declaration, written next to its handlers (each service's consumers.py)."""

    handles: frozenset[str]
    skips: frozenset[str] = frozenset()

    def __init__(self, handles: Iterable[str], skips: Iterable[str] = ()) -> None:
        handles, skips = frozenset(handles), frozenset(skips)
        if both := handles & skips:
            raise ValueError(f"event types both handled and skipped: {sorted(both)}")
        object.__setattr__(self, "handles", handles)
        object.__setattr__(self, "skips", skips)

    def verdict(self, event_type: str) -> Verdict:
        if event_type in self.handles:
            return Verdict.HANDLE
        if event_type in self.skips:
            return Verdict.SKIP
        return Verdict.UNKNOWN

    def covers(self, event_types: Iterable[str]) -> set[str]:
        """The types of `event_types` this declaration neither handles nor skips."""
        return {t for t in event_types if t not in self.handles and t not in self.skips}


def unknown_type_reason(event_type: str) -> str:
    return f"unknown event type {event_type}"
