"""What a supplier tells us: acknowledgement (EDI 855: promised date, accepted lines), ship notices (856)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from .model import EPS, AuditEntry, PoLine, PurchaseOrder, Shipment, ValidationError, number
from .states import check, transition


def _as_date(value: Any, name: str, errors: list[str]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    errors.append(f"{name}: must be an ISO date, got {value!r}")
    return None


def _line_quantities(po: PurchaseOrder, lines: Iterable[Mapping[str, Any]], errors: list[str],
                     allow_zero: bool) -> dict[tuple[str, str], float]:
    """Validate [{sku, location, quantity}] against the PO's lines; one entry per line."""
    found: dict[tuple[str, str], float] = {}
    for i, raw in enumerate(lines):
        key = (str(raw.get("sku")), str(raw.get("location")))
        qty = raw.get("quantity")
        if po.line(*key) is None:
            errors.append(f"lines[{i}]: {key[0]} at {key[1]} is not on {po.po_id}")
        elif key in found:
            errors.append(f"lines[{i}]: {key[0]} at {key[1]} listed twice")
        elif not isinstance(qty, int | float) or isinstance(qty, bool) or qty < 0 or (
                qty == 0 and not allow_zero):
            errors.append(f"lines[{i}].quantity: must be {'>=' if allow_zero else '>'} 0, got {qty!r}")
        else:
            found[key] = float(qty)
    return found


def acknowledge(po: PurchaseOrder, promised_date: Any, lines: Sequence[Mapping[str, Any]] | None,
                actor: str, now: datetime) -> tuple[PurchaseOrder, AuditEntry]:
    """Record the supplier's promise. Lines left out are accepted in full; accepting less is allowed."""
    check(po, "acknowledge")
    errors: list[str] = []
    promised = _as_date(promised_date, "promised_date", errors)
    if promised is not None and promised < po.created_at.date():
        errors.append(f"promised_date: {promised} is before the PO was created")
    accepted = _line_quantities(po, lines or (), errors, allow_zero=True)
    for (sku, loc), qty in accepted.items():
        ordered = po.line(sku, loc).quantity  # type: ignore[union-attr]
        if qty > ordered + EPS:
            errors.append(f"lines: {sku} at {loc} accepts {number(qty)}, more than ordered {number(ordered)}")
    if errors:
        raise ValidationError(errors)
    new_lines = tuple(replace(ln, accepted_quantity=accepted.get(ln.key, ln.quantity)) for ln in po.lines)
    short = [f"{ln.sku}@{ln.location} {number(ln.target_quantity)}/{number(ln.quantity)}"
             for ln in new_lines if ln.target_quantity + EPS < ln.quantity]
    reason = f"promised {promised}" + (f"; accepted short: {', '.join(short)}" if short else "")
    po, entry = transition(po, "acknowledge", actor, now, reason)
    return replace(po, lines=new_lines, promised_date=promised, acknowledged_at=now), entry


def shipped_quantity(po: PurchaseOrder, line: PoLine) -> float:
    return sum(q for s in po.shipments for (sku, loc, q) in s.lines if (sku, loc) == line.key)


def ship(po: PurchaseOrder, eta: Any, lines: Sequence[Mapping[str, Any]], actor: str, now: datetime,
         tracking: str | None = None) -> tuple[PurchaseOrder, AuditEntry]:
    """Record a ship notice; a repeat with the same tracking number replaces the earlier notice."""
    check(po, "ship")
    errors: list[str] = []
    when = _as_date(eta, "eta", errors)
    if when is not None and when < po.created_at.date():
        errors.append(f"eta: {when} is before the PO was created")
    if not lines:
        errors.append("lines: at least one line is required")
    qty = _line_quantities(po, lines, errors, allow_zero=False)
    kept = tuple(s for s in po.shipments if not (tracking and s.tracking == tracking))
    earlier = replace(po, shipments=kept)
    for (sku, loc), q in qty.items():
        line = po.line(sku, loc)
        limit = line.target_quantity - shipped_quantity(earlier, line)  # type: ignore[union-attr,operator,arg-type]
        if q > limit + EPS:
            errors.append(f"lines: {sku} at {loc} ships {number(q)}, only {number(max(limit, 0))} open")
    if errors:
        raise ValidationError(errors)
    notice = Shipment(at=now, eta=when, tracking=tracking,  # type: ignore[arg-type]
                      lines=tuple((s, lc, q) for (s, lc), q in qty.items()))
    reason = f"eta {when}" + (f", tracking {tracking}" if tracking else "")
    po, entry = transition(po, "ship", actor, now, reason)
    return replace(po, shipments=(*kept, notice), eta=when), entry
