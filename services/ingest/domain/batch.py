"""One HTTP batch, pure: validate, flag duplicates, apply master data in order, normalize, summarize."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.ingest.domain.master import MASTER_APPLIED, MasterSnapshot, apply_master_in_place
from services.ingest.domain.normalize import normalize
from services.ingest.domain.outcomes import Normalized, Outcome, Pending, Rejected, Unreadable
from shared.events.canonical import CanonicalEvent, validate_event


@dataclass(frozen=True)
class Duplicate:
    event: CanonicalEvent
    first_index: int | None  # the earlier index in this batch, None when seen in an earlier batch


@dataclass
class BatchResult:
    outcomes: list[Outcome | Duplicate]  # one per input, same order
    snapshot: MasterSnapshot  # master data after this batch's master events
    ids: list[str | None] = field(default_factory=list)  # the id as sent, for the response

    def response(self) -> dict[str, Any]:
        """The docs/contract.md §3 response body; pending events count as accepted too."""
        body: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": [], "pending": []}
        for index, outcome in enumerate(self.outcomes):
            if isinstance(outcome, Duplicate):
                body["duplicates"] += 1
            elif isinstance(outcome, Rejected):
                body["rejected"].append({"index": index, "id": self.ids[index], "errors": outcome.errors})
            else:
                body["accepted"] += 1
                if isinstance(outcome, Pending):
                    body["pending"].append({"index": index, "id": self.ids[index], "reason": outcome.reason})
        return body


def raw_id(obj: object) -> str | None:
    """The id as the caller sent it, for echoing in errors even when the event is invalid."""
    if isinstance(obj, Unreadable | CanonicalEvent):
        return obj.id
    value = obj.get("id") if isinstance(obj, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)[:200]


def duplicate_ids(events: Iterable[CanonicalEvent | None]) -> dict[int, int]:
    """Index -> index of the first event with the same (source, id) in the same batch."""
    first: dict[tuple[str, str], int] = {}
    repeats = {}
    for index, event in enumerate(events):
        if event is None:
            continue
        key = (event.source, event.id)
        if key in first:
            repeats[index] = first[key]
        else:
            first[key] = index
    return repeats


def process_batch(items: Sequence[object], snapshot: MasterSnapshot, now: datetime,
                  seen: Callable[[str, str], bool] = lambda source, event_id: False) -> BatchResult:
    """Outcomes for a batch in order; `seen(source, id)` answers for earlier batches (the dedupe table).

    Master data earlier in the batch applies to later events. Only a valid event claims its (source, id):
    a rejected event had no effect, so a corrected resend with the same id is not a duplicate.
    """
    working = snapshot.copy()
    claimed: dict[tuple[str, str], int] = {}
    outcomes: list[Outcome | Duplicate] = []
    for index, item in enumerate(items):
        checked = _checked(item, now)
        if isinstance(checked, list):
            outcomes.append(Rejected(checked))
            continue
        key = (checked.source, checked.id)
        if key in claimed or seen(*key):
            outcomes.append(Duplicate(checked, claimed.get(key)))
            continue
        outcome = normalize(checked, working)
        if not isinstance(outcome, Rejected):
            claimed[key] = index
        if isinstance(outcome, Normalized) and outcome.event.type in MASTER_APPLIED:
            apply_master_in_place(working, outcome.event)
        outcomes.append(outcome)
    return BatchResult(outcomes, working, [raw_id(item) for item in items])


def _checked(item: object, now: datetime) -> CanonicalEvent | list[str]:
    # Callers may validate first (to look up earlier batches in bulk) and pass the event itself.
    if isinstance(item, CanonicalEvent):
        return item
    return item.errors if isinstance(item, Unreadable) else validate_event(item, now)


def release_pending(waiting: Iterable[CanonicalEvent], snapshot: MasterSnapshot) -> list[Outcome]:
    """Re-normalize waiting events in event-time order (ties by id) once master data has changed."""
    ordered = sorted(waiting, key=lambda event: (event.time, event.source, event.id))
    working = snapshot.copy()
    outcomes = []
    for event in ordered:
        outcome = normalize(event, working)
        if isinstance(outcome, Normalized) and event.type in MASTER_APPLIED:
            apply_master_in_place(working, outcome.event)
        outcomes.append(outcome)
    return outcomes
