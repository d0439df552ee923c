"""In-memory stand-ins for the orders repository, unit of work, runtime and clock: handler tests without a
database."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from services.orders.domain import AuditEntry, CircuitBreaker, PurchaseOrder, SupplierItem
from shared.clock import Clock
from shared.events.markers import DAY_CLOSED, DayMark, day_end


class FrozenClock(Clock):
    """A wall clock that stands still at `at` (move it by assigning `at`)."""

    def __init__(self, at: datetime) -> None:
        super().__init__("wall")
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class FakeRepo:
    """The subset of services.orders.repository the handlers, actions and window closer call."""

    pos: dict[str, PurchaseOrder] = field(default_factory=dict)
    audit: list[tuple[str, AuditEntry]] = field(default_factory=list)
    index: dict[str, str] = field(default_factory=dict)
    items: dict[tuple[str, str], SupplierItem] = field(default_factory=dict)
    masters: dict[str, dict[str, Any]] = field(default_factory=dict)
    hooks: dict[str, tuple[str, str]] = field(default_factory=dict)
    deliveries: list[SimpleNamespace] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    timezones: dict[str, str] = field(default_factory=dict)
    marks: set[tuple[str, str, date, str, int, int]] = field(default_factory=set)
    decided: dict[str, tuple[date, str | None]] = field(default_factory=dict)
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)

    async def get_po(self, _s, po_id: str, *, lock: bool = False) -> PurchaseOrder | None:
        return self.pos.get(po_id)

    async def save_po(self, _s, po: PurchaseOrder) -> None:
        self.pos[po.po_id] = po

    async def add_audit(self, _s, po_id: str, entries: list[AuditEntry]) -> None:
        self.audit.extend((po_id, e) for e in entries)

    async def lock_supplier(self, _s, supplier_id: str) -> None:
        pass

    async def po_for_reorder(self, _s, reorder_id: str) -> str | None:
        return self.index.get(reorder_id)

    async def index_reorder(self, _s, reorder_id: str, po_id: str) -> None:
        self.index.setdefault(reorder_id, po_id)

    async def open_po_for(self, _s, supplier_id: str, since: datetime) -> PurchaseOrder | None:
        open_ = [p for p in self.pos.values()
                 if p.supplier_id == supplier_id and p.status == "proposed" and p.created_at > since]
        return max(open_, key=lambda p: p.created_at, default=None)

    async def supplier_item(self, _s, supplier_id: str, sku: str) -> SupplierItem | None:
        return self.items.get((supplier_id, sku))

    async def supplier(self, _s, supplier_id: str) -> dict[str, Any] | None:
        return self.masters.get(supplier_id)

    async def webhook(self, _s, supplier_id: str) -> tuple[str, str] | None:
        return self.hooks.get(supplier_id)

    async def enqueue_delivery(self, _s, values: dict[str, Any]) -> None:
        if not any(d.po_id == values["po_id"] and d.revision == values["revision"] for d in self.deliveries):
            row = {"id": len(self.deliveries) + 1, "attempts": 0, "last_error": None, "last_status_code": None,
                   "first_attempt_at": None, "next_attempt_at": None, **values}
            self.deliveries.append(SimpleNamespace(**row))

    async def update_delivery(self, _s, delivery_id: int, **values: Any) -> None:
        row = next(d for d in self.deliveries if d.id == delivery_id)
        for k, v in values.items():
            setattr(row, k, v)

    async def breaker(self, _s, supplier_id: str) -> CircuitBreaker:
        return self.breakers.get(supplier_id, CircuitBreaker())

    async def save_breaker(self, _s, supplier_id: str, b: CircuitBreaker) -> None:
        self.breakers[supplier_id] = b

    async def delivery_by_key(self, _s, key: str) -> SimpleNamespace | None:
        return next((d for d in self.deliveries if d.idempotency_key == key), None)

    async def current_delivery(self, _s, po_id: str, revision: int) -> SimpleNamespace | None:
        return next((d for d in self.deliveries if d.po_id == po_id and d.revision == revision), None)

    async def add_flags(self, _s, rows: list[dict[str, Any]]) -> None:
        self.flags.extend(rows)

    async def open_transfer_for(self, _s, sku: str, location: str) -> PurchaseOrder | None:
        open_ = [p for p in self.pos.values()
                 if p.is_transfer and p.status in ("sent", "acknowledged", "shipped", "partially_received")
                 and (ln := p.line(sku, location)) is not None and ln.open_quantity > 0]
        return min(open_, key=lambda p: (p.created_at, p.po_id), default=None)

    # the event clock's markers and decided days (shared.events.markers over SQL in the real repository)
    async def location_timezone(self, _s, location: str) -> str | None:
        return self.timezones.get(location)

    async def proposed_at(self, _s, location: str, through: datetime) -> list[PurchaseOrder]:
        due = [p for p in self.pos.values() if p.status == "proposed" and p.created_at <= through
               and any(ln.location == location for ln in p.lines)]
        return sorted(due, key=lambda p: (p.created_at, p.po_id))

    async def record_mark(self, _s, mark: DayMark, topic: str) -> bool:
        row = (mark.stream, mark.location, mark.day, topic, mark.partition, mark.partitions)
        new = row not in self.marks
        self.marks.add(row)
        return new

    async def closed_days(self, _s, stream: str, topics: list[str], location: str, after: date | None) -> list[date]:
        days = {m[2] for m in self.marks if m[0] == stream and m[1] == location and (after is None or m[2] > after)}

        def complete(day: date, topic: str) -> bool:
            seen = [m for m in self.marks if m[:4] == (stream, location, day, topic)]
            return bool(seen) and len(seen) >= max(m[5] for m in seen)
        return sorted(d for d in days if all(complete(d, t) for t in set(topics)))

    async def last_decided(self, _s, location: str) -> date | None:
        return self.decided[location][0] if location in self.decided else None

    async def record_decided(self, _s, location: str, day: date, tz: str | None) -> None:
        before = self.decided.get(location, (day, tz))[0]
        self.decided[location] = (max(before, day), tz)

    async def decided_through(self, _s) -> datetime | None:
        return min((day_end(d, tz) for d, tz in self.decided.values()), default=None)


@dataclass
class FakeUow:
    """Records what a handler would write to the outbox."""

    published: list[dict[str, Any]] = field(default_factory=list)
    session: object = None

    async def publish(self, topic: str, *, key: str, type: str, time: datetime, data: dict,
                      id: str | None = None) -> None:
        self.published.append({"topic": topic, "key": key, "type": type, "data": data, "id": id})

    async def publish_marker(self, topic: str, *, stream: str, location: str, day: date, time: datetime) -> None:
        self.published.append({"topic": topic, "key": None, "type": DAY_CLOSED, "id": None, "time": time,
                               "data": {"stream": stream, "location": location, "date": day.isoformat()}})

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [p for p in self.published if p["type"] == type_]


class FakeRuntime:
    """What actions.change_po needs of a ServiceRuntime: a unit of work and the sender's wake event."""

    def __init__(self, uow: FakeUow) -> None:
        self._uow = uow
        self.wake = SimpleNamespace(set=lambda: None)

    @asynccontextmanager
    async def _cm(self):
        yield self._uow

    def uow(self):
        return self._cm()
