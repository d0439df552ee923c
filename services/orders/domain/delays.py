"""Delay alerts, wall-clock timers: po_late per PO, supplier_unresponsive per supplier, resolved when cleared.

A date is compared as a UTC calendar day: a PO due on D is late from the first instant of D + 1.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from .model import SENT, WITH_SUPPLIER, PurchaseOrder, number

CRITICAL_AFTER_DAYS = 3  # po_late turns critical this many days past the due date


def _alert(key: str, kind: str, firing: bool, severity: str, summary: str, now: datetime,
           **fields: Any) -> dict[str, Any]:
    alert = {"key": key, "type": kind, "severity": severity, "status": "firing" if firing else "resolved",
             "summary": summary, "occurred_at": now.isoformat(), "labels": {"service": "orders"}}
    alert.update({k: v for k, v in fields.items() if v is not None})
    return alert


def _single(po: PurchaseOrder, attr: str) -> str | None:
    """sku / location of the alert only when the whole PO is about one."""
    values = {getattr(ln, attr) for ln in po.lines}
    return values.pop() if len(values) == 1 else None


def po_late_alert(po: PurchaseOrder, now: datetime, critical_after_days: int = CRITICAL_AFTER_DAYS) -> dict[str, Any]:
    due = po.due_date
    today = now.date()
    late = po.status in WITH_SUPPLIER and due is not None and today > due
    days_late = (today - due).days if due is not None else 0
    open_lines = [{"sku": ln.sku, "location": ln.location, "open_quantity": number(ln.open_quantity)}
                  for ln in po.lines if ln.open_quantity > 0]
    at_risk = round(sum(ln.open_quantity * ln.unit_cost for ln in po.lines), 6)
    source = "promised_date" if po.promised_date else "expected_date"
    summary = (f"PO {po.po_id} from {po.supplier_id} is {days_late} day(s) late ({source} {due})" if late
               else f"PO {po.po_id} is no longer late ({po.status})")
    explanation = {"formula": "late when today > due_date and the PO is not fully received",
                   "today": today.isoformat(), "due_date": due.isoformat() if due else None,
                   "due_from": source, "days_late": max(days_late, 0), "status": po.status,
                   "open_lines": open_lines}
    severity = "critical" if late and days_late >= critical_after_days else "warning"
    return _alert(f"po_late:{po.po_id}", "po_late", late, severity, summary, now,
                  po_id=po.po_id, supplier_id=po.supplier_id, sku=_single(po, "sku"),
                  location=_single(po, "location"), value_at_risk=at_risk if late else None,
                  explanation=explanation)


def _timeout(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def _summary(supplier_id: str, failed: list[str], retrying: dict[str, int], silent: list[str],
             reasons: dict[str, str], limit: timedelta) -> str:
    why = "; ".join(f"{k}: {v}" for k, v in reasons.items())
    why = f" ({why})" if why else ""
    if failed:
        more = f"; still retrying {', '.join(retrying)}" if retrying else ""
        return f"supplier {supplier_id} did not get PO(s) {', '.join(failed)} after the last retry{more}{why}"
    if retrying:
        tries = ", ".join(f"{k} after {n} attempt(s)" for k, n in retrying.items())
        return f"supplier {supplier_id} has not taken PO(s) {tries}; still retrying{why}"
    if silent:
        return f"supplier {supplier_id} has not acknowledged PO(s) {', '.join(silent)} within {limit}"
    return f"supplier {supplier_id} is responsive again"


def unresponsive_alert(supplier_id: str, pos: Sequence[PurchaseOrder], now: datetime,
                       unack_timeout: timedelta | float, after_attempt: int | None = None) -> dict[str, Any]:
    """Over all of the supplier's POs: any sent and unacknowledged past the timeout, undeliverable (its push
    schedule exhausted: critical), or still being pushed after `after_attempt` failed attempts (warning)."""
    limit = _timeout(unack_timeout)
    # transfers are never acknowledged: only real suppliers can be unresponsive
    waiting = [po for po in pos if po.supplier_id == supplier_id and po.status == SENT and not po.is_transfer]
    failed = [po.po_id for po in waiting if po.delivery_status == "failed"]
    retrying = {po.po_id: po.delivery_attempts for po in waiting if after_attempt is not None
                and po.delivery_status == "pending" and po.delivery_attempts >= after_attempt}
    reasons = {po.po_id: po.delivery_error for po in waiting
               if (po.po_id in failed or po.po_id in retrying) and po.delivery_error}
    silent = [po.po_id for po in waiting if po.sent_at is not None and now - po.sent_at >= limit
              and po.po_id not in failed and po.po_id not in retrying]
    firing = bool(failed or retrying or silent)
    explanation = {"formula": "sent and not acknowledged for >= unack_timeout, push still failing after "
                              "unresponsive_after_attempt attempts, or push failed after the last retry",
                   "unack_timeout_s": limit.total_seconds(), "unresponsive_after_attempt": after_attempt,
                   "undelivered_po_ids": failed, "retrying_po_ids": list(retrying),
                   "delivery_attempts": retrying, "unacknowledged_po_ids": silent, "delivery_errors": reasons}
    return _alert(f"supplier_unresponsive:{supplier_id}", "supplier_unresponsive", firing,
                  "critical" if failed else "warning",
                  _summary(supplier_id, failed, retrying, silent, reasons, limit), now, supplier_id=supplier_id,
                  po_id=(failed + list(retrying) + silent)[0] if firing else None, explanation=explanation)


def late_from(po: PurchaseOrder) -> datetime | None:
    """The first instant the PO is late: midnight UTC after its due date (None when it cannot be late)."""
    due = po.due_date
    if po.status not in WITH_SUPPLIER or due is None:
        return None
    return datetime.combine(due + timedelta(days=1), time.min, tzinfo=UTC)


def next_check_at(po: PurchaseOrder, now: datetime, unack_timeout: timedelta | float,
                  critical_after_days: int = CRITICAL_AFTER_DAYS) -> datetime | None:
    """The next instant at which this PO's delay alerts can change with no change to the PO itself.

    Becoming late, turning critical, and passing the acknowledgement timeout; None when only a change of
    the PO (receipt, acknowledgement, cancel, reschedule, delivery outcome) can change them.
    """
    deadlines = []
    late = late_from(po)
    if late is not None:
        deadlines += [late, late + timedelta(days=critical_after_days)]
    if po.status == SENT and po.sent_at is not None and not po.is_transfer:
        deadlines.append(po.sent_at + _timeout(unack_timeout))
    future = [d for d in deadlines if d > now]
    return min(future) if future else None


def delay_alerts(po: PurchaseOrder, now: datetime, unack_timeout: timedelta | float, *,
                 supplier_pos: Sequence[PurchaseOrder] | None = None,
                 active: Collection[str] | None = None, after_attempt: int | None = None) -> list[dict[str, Any]]:
    """Both alerts for this PO's situation.

    supplier_pos: all of the supplier's POs (default: this one), so one acknowledged PO does not resolve
    the supplier's alert while another is still ignored. active: keys currently firing; when given, only
    changes come back (newly firing, or firing keys that cleared); when None, the full state. after_attempt:
    see unresponsive_alert.
    """
    pos = list(supplier_pos) if supplier_pos is not None else [po]
    if all(p.po_id != po.po_id for p in pos):
        pos.append(po)
    alerts = [po_late_alert(po, now), unresponsive_alert(po.supplier_id, pos, now, unack_timeout, after_attempt)]
    if active is None:
        return alerts
    return [a for a in alerts if (a["status"] == "firing") != (a["key"] in active)]
