"""Ingest use cases: a batch from any door is validated, deduped, normalized, then published or quarantined."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.ingest import repository as repo
from services.ingest.domain.batch import BatchResult, Duplicate, process_batch, raw_id
from services.ingest.domain.batch import release_pending as release_order
from services.ingest.domain.fastlane import LEDGER_EFFECT, Lookups, Movement, fast_batch
from services.ingest.domain.master import MASTER_APPLIED, MasterSnapshot, apply_master_in_place
from services.ingest.domain.outcomes import Normalized, Pending, Rejected, Unreadable
from services.ingest.domain.storable import ESCAPED_NOTE, needs_escape, storable, storable_text
from services.ingest.envelopes import envelope_bytes, iso_time, mark_batch, outbox_rows
from shared.db.uow import UnitOfWork
from shared.events.canonical import MASTER_TYPES, CanonicalEvent, lenient_types, validate_event
from shared.observability.metrics import EVENTS

BULK_OUTBOX = 2
RELEASES = {"item": "unknown_sku", "location": "unknown_location", "supplier": "unknown_supplier"}


@dataclass
class Tally:
    """What one batch tells about one source: counters and the newest event time (for freshness)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    newest: datetime | None = None


@dataclass
class Ingested:
    response: dict[str, Any]
    tallies: dict[str, Tally] = field(default_factory=dict)
    published: int = 0
    master_seq: int = 0  # the master data this batch was judged against


class MasterCache:
    """The master snapshot, refreshed from the master table by sequence so replicas stay in step."""

    def __init__(self) -> None:
        self.snapshot, self.seq = MasterSnapshot(), 0
        self.lookups = Lookups(self.snapshot)

    def lookups_now(self) -> Lookups:
        """Code resolutions remembered across batches for as long as the snapshot stays the same."""
        if self.lookups.snapshot is not self.snapshot:
            self.lookups = Lookups(self.snapshot)
        return self.lookups

    async def refresh(self, uow: UnitOfWork) -> None:
        rows = await repo.master_since(uow.session, self.seq)
        if not rows:
            return
        snapshot = self.snapshot.copy()
        for seq, raw in rows:
            with lenient_types():  # stored before docs/contract.md §3's strict types: still master data
                event = validate_event(raw, FAR_FUTURE)
            if isinstance(event, CanonicalEvent) and event.type in MASTER_APPLIED:
                apply_master_in_place(snapshot, event)
            self.seq = max(self.seq, seq)
        self.snapshot = snapshot


# Stored events were validated on arrival; re-reading them must not trip the "not in the future" bound.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def _jsonable(raw: Any) -> Any:
    if isinstance(raw, Unreadable):
        return None
    return raw if isinstance(raw, dict | list | str | int | float | bool) or raw is None else repr(raw)


def _source_of(raw: Any, event: CanonicalEvent | None) -> str | None:
    if event is not None:
        return event.source
    value = raw.get("source") if isinstance(raw, dict) else None
    return storable_text(value.strip(), 200) or None if isinstance(value, str) else None


def quarantine_row(outcome: Pending | Rejected, raw: Any, door: str) -> dict[str, Any]:
    """The quarantine entry; what PostgreSQL cannot store (NUL, unpaired surrogates, infinities) is escaped
    and the entry says so (docs/contract.md §12: a bad event is kept, whatever its bytes)."""
    event = outcome.event
    if isinstance(outcome, Pending):
        status, reason, errors = "pending", outcome.reason, [outcome.detail]
    else:
        status, reason, errors = "rejected", "invalid", outcome.errors
    kept = _jsonable(raw)
    event_id = event.id if event else raw_id(raw)
    escaped = needs_escape(kept) or (event_id is not None and needs_escape(event_id))
    errors = [storable_text(e) for e in errors] + ([ESCAPED_NOTE] if escaped else [])
    return {"source": _source_of(raw, event), "event_id": storable_text(event_id, 200) if event_id else None,
            "type": event.type if event else None, "event_time": event.time if event else None,
            "status": status, "reason": reason, "errors": errors, "raw": storable(kept), "door": door}


def ledger_row(outcome: Normalized | Pending) -> dict[str, Any]:
    event = outcome.event
    row = {"source": event.source, "event_id": event.id, "type": event.type, "event_time": event.time,
           "location": None, "sku": None, "quantity": None}
    effect = LEDGER_EFFECT.get(event.type)
    if effect and isinstance(outcome, Normalized):
        name, sign = effect
        row.update(location=outcome.payload["location"], sku=outcome.payload["sku"],
                   quantity=sign * outcome.payload[name])
    return row


async def publish(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """Many canonical events go into the outbox as batched rows (one per few thousand events, expanded by the
    relay in order): a row per event cost PostgreSQL an insert, a select and an update each (py-spy)."""
    start = 0
    for end, row in enumerate(rows):
        if row.get("headers"):  # a day-closed marker: after the run before it, in outbox order
            await _publish_run(uow, rows[start:end])
            await uow.publish_many([row])
            start = end + 1
    await _publish_run(uow, rows[start:])


async def _publish_run(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    messages = mark_batch([(r["topic"], r["key"], r["payload"]) for r in rows])
    if len(messages) >= BULK_OUTBOX:
        await uow.publish_batch(messages)
    else:
        await uow.publish_many([{"topic": topic, "key": key, "payload": payload, "headers": None}
                                for topic, key, payload in messages])


def _precheck(item: object, now: datetime) -> CanonicalEvent | Unreadable:
    if isinstance(item, Unreadable):
        return item
    checked = validate_event(item, now)
    return checked if isinstance(checked, CanonicalEvent) else Unreadable(checked, raw_id(item))


async def ingest_records(uow: UnitOfWork, cache: MasterCache, items: Sequence[object], now: datetime, *,
                         door: str = "events", originals: Sequence[object] | None = None,
                         source: str | None = None) -> Ingested:
    """docs/contract.md §3 batch semantics for any door; `originals` are what the caller sent (kept on rejection)."""
    await cache.refresh(uow)
    seq = cache.seq
    lane = fast_batch(items, cache.snapshot, now, iso=iso_time, lookups=cache.lookups_now())
    if lane is not None:
        return await _ingest_lane(uow, lane, seq)
    checked = [_precheck(item, now) for item in items]
    keys = [(e.source, e.id) for e in checked if isinstance(e, CanonicalEvent)]
    known = await repo.existing_keys(uow.session, keys)
    batch = process_batch(checked, cache.snapshot, now, seen=lambda source, event_id: (source, event_id) in known)
    batch.ids = [raw_id(item) for item in items]
    ledger = [ledger_row(o) for o in batch.outcomes if isinstance(o, Normalized | Pending)]
    new = await repo.record_received(uow.session, ledger)
    _lose_races(batch, new)
    originals = items if originals is None else originals
    done = await _apply(uow, batch, items, originals, door, source)
    cache.snapshot = batch.snapshot
    response = batch.response()
    EVENTS.labels("ingest", "accepted").inc(response["accepted"])
    EVENTS.labels("ingest", "rejected").inc(len(response["rejected"]))
    return Ingested(response, _tallies(batch, originals), done, seq)


async def _ingest_lane(uow: UnitOfWork, lane: list[Movement], seq: int) -> Ingested:
    """A batch the fast lane took whole: claim, publish the new ones; a key claimed before is a duplicate.

    No lookup before the claim is needed: every event here is valid and takes effect, so "seen before" and
    "lost the claim" are the same answer, which the claim's RETURNING gives.
    """
    new = await repo.claim_movements(uow.session, lane)
    fresh = lane if new is None else [m for m in lane if (m.source, m.id) in new]
    if fresh:
        await uow.publish_batch(mark_batch([(m.topic, m.key, envelope_bytes(m.source, m.id, m.type, m.payload["time"],
                                                                            m.key, m.payload)) for m in fresh]))
    tallies: dict[str, Tally] = {}
    for m in fresh:
        tally = tallies.get(m.source) or tallies.setdefault(m.source, Tally())
        tally.accepted += 1
        if tally.newest is None or m.time > tally.newest:
            tally.newest = m.time
    if fresh is not lane:
        for m in lane:
            if (m.source, m.id) not in new:
                tally = tallies.get(m.source) or tallies.setdefault(m.source, Tally())
                tally.duplicates += 1
    response = {"accepted": len(fresh), "duplicates": len(lane) - len(fresh), "rejected": [], "pending": []}
    EVENTS.labels("ingest", "accepted").inc(len(fresh))
    return Ingested(response, tallies, len(fresh), seq)


def _lose_races(batch: BatchResult, new: set[tuple[str, str]]) -> None:
    """A concurrent twin batch (another request or worker) claimed these keys first: duplicates here."""
    for index, outcome in enumerate(batch.outcomes):
        if isinstance(outcome, Normalized | Pending) and (outcome.event.source, outcome.event.id) not in new:
            batch.outcomes[index] = Duplicate(outcome.event, None)


async def _apply(uow: UnitOfWork, batch: BatchResult, items: Sequence[object], originals: Sequence[object],
                 door: str, source: str | None) -> int:
    rows, quarantined, released = [], [], set()
    for index, outcome in enumerate(batch.outcomes):
        if isinstance(outcome, Normalized):
            rows.extend(outbox_rows(outcome))
            if outcome.event.type in MASTER_TYPES:
                # Fields the model ignores may still hold unstorable bytes: kept escaped, never read.
                await repo.save_master(uow.session, outcome.event.type, outcome.key, storable(items[index]),
                                       outcome.event.time)
                if outcome.event.type in RELEASES:
                    released.add(RELEASES[outcome.event.type])
        elif isinstance(outcome, Pending):  # kept as the canonical event, so release can re-read it
            quarantined.append(quarantine_row(outcome, items[index], door))
        elif isinstance(outcome, Rejected):
            unmapped = door == "mapping" and isinstance(items[index], Unreadable)
            row = quarantine_row(outcome, originals[index], "mapping" if unmapped else door)
            row["source"] = row["source"] or source  # a feed record the mapping could not read
            quarantined.append(row)
    await publish(uow, rows)
    await repo.quarantine_events(uow.session, quarantined)
    if released:
        await release_pending(uow, batch.snapshot, released)
    return len(rows)


def _tallies(batch: BatchResult, originals: Sequence[object]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for index, outcome in enumerate(batch.outcomes):
        event = outcome.event
        source = _source_of(originals[index], event) or "unknown"
        tally = tallies.setdefault(source, Tally())
        if isinstance(outcome, Duplicate):
            tally.duplicates += 1
        elif isinstance(outcome, Rejected):
            tally.rejected += 1
        else:
            tally.accepted += 1
            if tally.newest is None or event.time > tally.newest:
                tally.newest = event.time
    return tallies


async def release_pending(uow: UnitOfWork, snapshot: MasterSnapshot, reasons: set[str]) -> int:
    """Events that waited for master data, in event-time order, now that some arrived."""
    waiting = []
    for row in await repo.pending_for_release(uow.session, reasons):
        with lenient_types():  # waiting since before docs/contract.md §3's strict types: still valid
            event = validate_event(row.raw, FAR_FUTURE)
        if isinstance(event, CanonicalEvent):
            waiting.append((row, event))
    waiting.sort(key=lambda pair: (pair[1].time, pair[1].source, pair[1].id))  # the order release_order uses
    outcomes = release_order([event for _, event in waiting], snapshot)
    rows, done = [], []
    for (row, event), outcome in zip(waiting, outcomes, strict=True):
        if isinstance(outcome, Normalized):
            if event.type in MASTER_TYPES:
                await repo.save_master(uow.session, event.type, outcome.key, row.raw, event.time)
            rows.extend(outbox_rows(outcome))
            await repo.record_movement(uow.session, ledger_row(outcome))
            done.append(row.id)
        elif isinstance(outcome, Rejected):
            # It never took effect: forget its key so a corrected resend is not a duplicate.
            await repo.resolve_quarantined(uow.session, [row.id], status="rejected",
                                           note="; ".join(outcome.errors))
            await repo.forget_received(uow.session, event.source, event.id)
    await publish(uow, rows)
    await repo.resolve_quarantined(uow.session, done, status="processed", by="master-data")
    return len(done)


async def settle_pending(uow: UnitOfWork, cache: MasterCache, done: Ingested) -> int:
    """After commit: master data committed by a concurrent batch meanwhile may already release our pending.

    Without this, an event judged against an older snapshot would wait for the next master event.
    """
    if not done.response["pending"]:
        return 0
    await cache.refresh(uow)
    if cache.seq == done.master_seq:
        return 0
    return await release_pending(uow, cache.snapshot, set(RELEASES.values()))
