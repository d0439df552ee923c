"""The batch fast lane: a batch of plain movements with known master data, validated and normalized in one pass.

Most feed traffic is exactly that. The general path (process_batch) builds an event model, an outcome and
several dicts per event; this lane builds one small record per event and steps aside, for the whole batch,
at the first event that is anything else, so the general path keeps deciding every unusual case.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ingest.domain.master import ItemMaster, MasterSnapshot
from services.ingest.domain.normalize import MOVEMENT_TOPICS, converted
from shared.events.canonical import plain_movement

# Signed effect on stock of each movement type, as the dedupe ledger keeps it (for the quality report).
LEDGER_EFFECT = {"sale": ("quantity", -1.0), "return": ("quantity", 1.0), "stock_adjustment": ("quantity", 1.0),
                 "stock_count": ("on_hand", 1.0)}


@dataclass(slots=True)
class Movement:
    """A movement ready to claim and publish: what Normalized and its ledger row carry, nothing more."""

    source: str
    id: str
    type: str
    time: datetime
    topic: str
    key: str
    payload: dict[str, Any]  # the canonical record, exactly as normalize builds it

    @property
    def effect(self) -> float:
        name, sign = LEDGER_EFFECT[self.type]
        return sign * self.payload[name]


MEMO_LIMIT = 200_000  # codes remembered per snapshot; forgotten all at once past this (unknown codes too)


class Lookups:
    """Memo of code resolution under one master snapshot (snapshots are replaced, never changed, once in
    use): a feed names the same SKUs and stores batch after batch, and code_key costs ~1 µs a code."""

    def __init__(self, snapshot: MasterSnapshot) -> None:
        self.snapshot = snapshot
        self.skus: dict[str, tuple[str, ItemMaster] | None] = {}
        self.places: dict[str, str | None] = {}

    def item(self, code: str) -> tuple[str, ItemMaster] | None:
        """(canonical SKU, its item) for a SKU code or alias, None when unknown."""
        found = self.skus.get(code, _UNSEEN)
        if found is _UNSEEN:
            if len(self.skus) >= MEMO_LIMIT:
                self.skus.clear()
            sku = self.snapshot.resolve_sku(code)
            found = self.skus[code] = (sku, self.snapshot.items[sku]) if sku is not None else None
        return found

    def place(self, code: str) -> str | None:
        found = self.places.get(code, _UNSEEN)
        if found is _UNSEEN:
            if len(self.places) >= MEMO_LIMIT:
                self.places.clear()
            location = self.snapshot.location(code)
            found = self.places[code] = location.location if location is not None else None
        return found


_UNSEEN = object()


def _movement(obj: object, lookups: Lookups, now: datetime, iso: Callable[[datetime], str]) -> Movement | None:
    """The normalized movement, or None when the general path must decide (invalid, unusual, pending...)."""
    if type(obj) is not dict:
        return None
    checked = plain_movement(obj, now)
    if checked is None:
        return None
    event_id, source, kind, at, fields = checked
    known, place = lookups.item(fields["sku"]), lookups.place(fields["location"])
    if known is None or place is None:
        return None
    sku, item = known
    unit = fields.get("unit") or item.base_unit
    factor = item.conversions.get(unit)
    if factor is None:
        return None
    payload: dict[str, Any] = {"event_id": event_id, "source": source, "type": kind, "sku": sku,
                               "location": place, "time": iso(at)}
    if converted(payload, fields, factor, unit, item.base_unit):
        return None
    return Movement(source, event_id, kind, at, MOVEMENT_TOPICS[kind], f"{place}:{sku}", payload)


def fast_batch(items: Sequence[object], snapshot: MasterSnapshot, now: datetime,
               iso: Callable[[datetime], str] = datetime.isoformat,
               lookups: Lookups | None = None) -> list[Movement] | None:
    """Every item through the lane, or None if one of them is not for it (or repeats an id of the batch).

    `iso` formats the (UTC) event time exactly as datetime.isoformat does; callers may pass a faster one.
    `lookups` may carry resolutions over from earlier batches, if made for this very snapshot.
    """
    if lookups is None or lookups.snapshot is not snapshot:
        lookups = Lookups(snapshot)
    out: list[Movement] = []
    keys: set[tuple[str, str]] = set()
    for item in items:
        movement = _movement(item, lookups, now, iso)
        if movement is None:
            return None
        key = (movement.source, movement.id)
        if key in keys:
            return None
        keys.add(key)
        out.append(movement)
    return out
