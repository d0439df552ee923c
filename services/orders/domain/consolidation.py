"""Consolidation: reorders for one supplier within a batch window become lines of one proposed PO.

po_id is `PO-<supplier_id>-<first 10 hex of sha256(key)>`. On the wall clock the key is the reorder that
opened the PO; under the event clock it is the PO's window (`window_key`: location and event-time window),
so the same reorders make the same POs whatever order they arrive in. Never the wall clock: a redelivered
opening reorder maps to the same po_id (the repository's primary key then refuses a second PO). Reorders
already on a PO are never added again; the service still keeps a reorder_id -> po_id index so a
redelivery after the window closed is recognised. Lines are kept in (sku, location) order and a line's
quantity depends only on the sum of its reorders, never on their arrival order.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .model import EPS, PROPOSED, PoLine, PurchaseOrder, Reorder, SupplierItem, ValidationError


def po_id_for(supplier_id: str, key: str) -> str:
    """`key`: the opening reorder_id (wall clock) or the PO's window key (event clock)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    # po_id travels in URL paths and file names: keep only safe characters of the supplier id
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", supplier_id).strip("-") or "X"
    return f"PO-{safe}-{digest}"


def order_quantity(requested: float, moq: float | None, pack_size: float | None) -> float:
    """Round up to a whole number of packs, and to at least the MOQ (itself rounded up to packs)."""
    if not math.isfinite(requested) or requested <= 0:
        raise ValidationError([f"quantity: must be > 0, got {requested}"])
    pack = pack_size if pack_size and pack_size > 0 else 1.0
    wanted = max(requested, moq or 0.0)
    packs = math.ceil(wanted / pack - EPS)
    return round(packs * pack, 9)


def known_timezone(name: str | None) -> str | None:
    """An IANA name local days can be computed in, else None (read as UTC)."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def window_key(location: str, at: datetime, window_s: float, timezone: str | None) -> str:
    """Event clock: which consolidation window the instant `at` at `location` falls in, `<location>@<day>/<n>`.

    The location's local day is cut into windows of window_s from its start, each (start, end]: an instant
    on a boundary (a decision stamped at the day's close) belongs to the window that ends there, so no
    window spans a day's end and a day's reorders never share a PO with the next day's. A function of the
    instant alone, never of what arrived before it.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (UTC)")
    tz = ZoneInfo(timezone or "UTC")
    day = (at - timedelta(microseconds=1)).astimezone(tz).date()
    if window_s <= 0:
        return f"{location}@{day.isoformat()}/{at.astimezone(UTC).isoformat()}"
    offset = (at - datetime.combine(day, time(0), tzinfo=tz)).total_seconds()
    return f"{location}@{day.isoformat()}/{max(math.ceil(offset / window_s) - 1, 0)}"


def window_closed(po: PurchaseOrder, window_s: float, now: datetime) -> bool:
    """True once the PO has stopped taking lines: its window elapsed, or it left `proposed`."""
    return po.status != PROPOSED or now >= po.created_at + timedelta(seconds=window_s)


def _line_for(reorder: Reorder, item: SupplierItem | None) -> PoLine:
    pack = float(item.pack_size) if item and item.pack_size else 1.0
    moq = float(item.moq) if item and item.moq else 0.0
    cost = item.unit_cost if item and item.unit_cost is not None else reorder.unit_cost
    return PoLine(
        sku=reorder.sku, location=reorder.location,
        quantity=order_quantity(reorder.quantity, moq, pack),
        unit_cost=float(cost or 0.0), reorder_ids=(reorder.reorder_id,),
        requested_quantity=float(reorder.quantity), pack_size=pack, moq=moq,
        lead_time_days=float(item.lead_time_days or 0.0) if item else 0.0, need_by=reorder.need_by)


def _merge(line: PoLine, reorder: Reorder) -> PoLine:
    """A second reorder for the same sku and location grows the line; packs are rounded once, on the sum."""
    # rounded so the sum does not depend on the order the reorders were added in (float addition does)
    requested = round(line.requested_quantity + float(reorder.quantity), 9)
    need_by = min(d for d in (line.need_by, reorder.need_by) if d is not None)
    return replace(line, requested_quantity=requested, need_by=need_by,
                   quantity=order_quantity(requested, line.moq, line.pack_size),
                   reorder_ids=tuple(sorted((*line.reorder_ids, reorder.reorder_id))))


def _open(reorder: Reorder, item: SupplierItem | None, now: datetime, po_id: str | None) -> PurchaseOrder:
    party = reorder.party_id
    line = _line_for(reorder, item)
    return PurchaseOrder(po_id=po_id or po_id_for(party, reorder.reorder_id), supplier_id=party, status=PROPOSED,
                         created_at=now, lines=(line,), reason=_reason(reorder),
                         requires_approval=reorder.requires_approval,
                         expected_date=_expected(reorder.need_by, (line,), now))


def _expected(need_by: date | None, lines: tuple[PoLine, ...], now: datetime) -> date | None:
    """When a proposed PO can arrive: when it is needed, but never before the longest lead time from its
    creation (policy counts it as arriving then: a need-by date the supplier cannot meet would hide the
    stockout)."""
    earliest = (now + timedelta(days=max((ln.lead_time_days for ln in lines), default=0.0))).date()
    return max(need_by, earliest) if need_by is not None else earliest


def _reason(reorder: Reorder) -> str:
    return (f"reorder {reorder.reorder_id}: {reorder.quantity:g} of {reorder.sku} "
            f"for {reorder.location} needed by {reorder.need_by.isoformat()}")


def _grow_reason(reason: str, reorders_before: int) -> str:
    """Keep the opening decision readable; a large batch only says how many reorders joined it."""
    head = reason.split(" (+")[0]
    return f"{head} (+{reorders_before} more reorders)"


def add_reorder(po: PurchaseOrder | None, reorder: Reorder, supplier_item: SupplierItem | None,
                now: datetime, *, po_id: str | None = None) -> tuple[PurchaseOrder, bool]:
    """Put `reorder` on the supplier's open PO (or open one, named `po_id` if given). `added` is False for a
    repeat. `now` is when the reorder joins (its decision's event time under the event clock): the PO's
    created_at is the earliest of them, so the same reorders give the same PO in any arrival order."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    if po is None:
        return _open(reorder, supplier_item, now, po_id), True
    if reorder.reorder_id in po.reorder_ids:
        return po, False
    if po.status != PROPOSED:
        raise ValidationError([f"PO {po.po_id} is {po.status}: it no longer takes lines"])
    if po.supplier_id != reorder.party_id:
        raise ValidationError([f"reorder {reorder.reorder_id} is for {reorder.party_id}, "
                               f"PO {po.po_id} for {po.supplier_id}"])
    existing = po.line(reorder.sku, reorder.location)
    if existing is not None:
        lines = tuple(_merge(ln, reorder) if ln is existing else ln for ln in po.lines)
    else:
        lines = tuple(sorted((*po.lines, _line_for(reorder, supplier_item)), key=lambda ln: ln.key))
    need_by = min((ln.need_by for ln in lines if ln.need_by is not None), default=None)
    created = min(po.created_at, now)
    return replace(po, lines=lines, created_at=created, expected_date=_expected(need_by, lines, created),
                   requires_approval=po.requires_approval or reorder.requires_approval,
                   reason=_grow_reason(po.reason, len(po.reorder_ids))), True
