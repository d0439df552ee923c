"""Ingest use cases: take a batch of raw events, validate, dedupe, normalize, publish or quarantine."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.ingest import repository as repo
from services.ingest.domain.master import MasterSnapshot, apply_master_in_place
from services.ingest.domain.normalize import normalize
from services.ingest.domain.outcomes import Normalized, Pending, Rejected
from shared.db.uow import UnitOfWork
from shared.events.canonical import MASTER_TYPES, CanonicalEvent, validate_event
from shared.events.envelope import Envelope, deterministic_id
from shared.observability.metrics import EVENTS

MASTER_RELEASES = {"item": ("unknown_sku",), "location": ("unknown_location",),
                   "supplier": ("unknown_supplier",)}


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
                "pending": self.pending}


class MasterCache:
    """The master snapshot, refreshed from the master table by sequence so replicas stay in step."""

    def __init__(self) -> None:
        self.snapshot, self.seq = MasterSnapshot(), 0

    async def refresh(self, uow: UnitOfWork) -> None:
        for row in await repo.master_since(uow.session, self.seq):
            event = validate_event(row.event, _far_future())
            if isinstance(event, CanonicalEvent):
                apply_master_in_place(self.snapshot, event)
            self.seq = max(self.seq, row.seq)


def _far_future() -> datetime:
    # Stored events were validated on arrival; re-reading them must not trip the "not in the future" bound.
    return datetime(9999, 1, 1, tzinfo=UTC)


def _ident(obj: Any) -> str | None:
    return obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None


def _envelope_row(event: CanonicalEvent, out: Normalized) -> dict[str, Any]:
    env = Envelope(id=deterministic_id("ingest", event.source, event.id), source=f"replenish/ingest/{event.source}",
                   type=f"replenish.ingest.{event.type}", time=event.time, subject=out.key, data=out.payload)
    return {"topic": out.topic, "key": out.key, "payload": env.to_bytes(), "headers": None}


def _quarantine_row(event: CanonicalEvent | None, raw: Any, *, status: str, reason: str,
                    errors: list[str]) -> dict[str, Any]:
    return {"source": event.source if event else (raw.get("source") if isinstance(raw, dict)
                                                  and isinstance(raw.get("source"), str) else None),
            "event_id": event.id if event else _ident(raw), "type": event.type if event else None,
            "event_time": event.time if event else None, "status": status, "reason": reason,
            "errors": errors, "raw": _jsonable(raw)}


def _jsonable(raw: Any) -> Any:
    return raw if isinstance(raw, dict | list | str | int | float | bool) or raw is None else repr(raw)


async def ingest_batch(uow: UnitOfWork, cache: MasterCache, raw: list[Any], now: datetime) -> BatchResult:
    """The §3 batch semantics; master data earlier in the batch applies to later events."""
    result, stats = BatchResult(), _Stats()
    candidates: list[tuple[int, CanonicalEvent, Any]] = []
    seen: set[tuple[str, str]] = set()
    quarantined: list[dict[str, Any]] = []
    for index, obj in enumerate(raw):
        checked = validate_event(obj, now)
        if not isinstance(checked, CanonicalEvent):
            result.rejected.append({"index": index, "id": _ident(obj), "errors": checked})
            quarantined.append(_quarantine_row(None, obj, status="rejected", reason="invalid", errors=checked))
            stats.add(quarantined[-1]["source"] or "unknown", "rejected")
            continue
        key = (checked.source, checked.id)
        if key in seen:
            result.duplicates += 1
            stats.add(checked.source, "duplicates")
            continue
        seen.add(key)
        candidates.append((index, checked, obj))
    known = await repo.existing_keys(uow.session, [(e.source, e.id) for _, e, _ in candidates])
    await cache.refresh(uow)
    snapshot = cache.snapshot.copy() if any(e.type in MASTER_TYPES for _, e, _ in candidates) else cache.snapshot
    rows, ledger, released_reasons = [], [], set()
    for index, event, obj in candidates:
        if (event.source, event.id) in known:
            result.duplicates += 1
            stats.add(event.source, "duplicates")
            continue
        outcome = normalize(event, snapshot)
        if isinstance(outcome, Rejected):
            result.rejected.append({"index": index, "id": event.id, "errors": outcome.errors})
            quarantined.append(_quarantine_row(event, obj, status="rejected", reason="invalid",
                                               errors=outcome.errors))
            stats.add(event.source, "rejected")
            continue
        ledger.append({"source": event.source, "event_id": event.id, "type": event.type, "event_time": event.time})
        result.accepted += 1
        stats.add(event.source, "accepted", event.time)
        if isinstance(outcome, Pending):
            result.pending.append({"index": index, "id": event.id, "reason": outcome.reason})
            quarantined.append(_quarantine_row(event, obj, status="pending", reason=outcome.reason,
                                               errors=[outcome.detail]))
            continue
        if event.type in MASTER_TYPES:
            apply_master_in_place(snapshot, event)
            await repo.save_master(uow.session, event.type, outcome.key, obj if isinstance(obj, dict)
                                   else {}, event.time)
            released_reasons.update(MASTER_RELEASES.get(event.type, ()))
        rows.append(((event.source, event.id), _envelope_row(event, outcome)))
    new = await repo.record_received(uow.session, ledger)
    if len(new) != len(ledger):  # a concurrent twin batch won these keys: they are duplicates here
        raced = len(ledger) - len(new)
        result.accepted -= raced
        result.duplicates += raced
        rows = [(key, row) for key, row in rows if key in new]
    await uow.publish_many([row for _, row in rows])
    await repo.quarantine_events(uow.session, quarantined)
    if released_reasons:
        await release_pending(uow, snapshot, released_reasons)
    await repo.bump_sources(uow.session, stats.by_source, now)
    cache.snapshot = snapshot
    EVENTS.labels("ingest", "accepted").inc(result.accepted)
    EVENTS.labels("ingest", "rejected").inc(len(result.rejected))
    return result


async def release_pending(uow: UnitOfWork, snapshot: MasterSnapshot, reasons: set[str]) -> int:
    """Events that waited for master data, in event-time order, now that some arrived."""
    released, done = [], []
    for row in await repo.pending_for_release(uow.session, reasons):
        event = validate_event(row.raw, _far_future())
        if not isinstance(event, CanonicalEvent):
            continue
        outcome = normalize(event, snapshot)
        if isinstance(outcome, Normalized):
            if event.type in MASTER_TYPES:
                apply_master_in_place(snapshot, event)
                await repo.save_master(uow.session, event.type, outcome.key, row.raw, event.time)
            released.append(_envelope_row(event, outcome))
            done.append(row.id)
        elif isinstance(outcome, Rejected):
            await repo.resolve_quarantined(uow.session, [row.id], status="rejected", note="; ".join(outcome.errors))
    await uow.publish_many(released)
    await repo.resolve_quarantined(uow.session, done, status="processed", by="master-data")
    return len(done)


class _Stats:
    def __init__(self) -> None:
        self.by_source: dict[str, dict[str, Any]] = {}

    def add(self, source: str, what: str, event_time: datetime | None = None) -> None:
        s = self.by_source.setdefault(source, {"accepted": 0, "duplicates": 0, "rejected": 0,
                                               "last_event_at": None})
        s[what] += 1
        if event_time and (s["last_event_at"] is None or event_time > s["last_event_at"]):
            s["last_event_at"] = event_time
