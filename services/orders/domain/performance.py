"""Supplier performance: on-time-in-full rate and lead time (sent -> received) per supplier and supplier-item.

Which POs count: every sent PO that is received, cancelled after a receipt, or still open past its due
date (promised, else expected). On time: fully received (the committed quantity) by the end of the due
day. In full: received at least the ordered quantity. Lead time: days from sent_at to the receipt that
completed the PO (per supplier) or the line (per supplier-item); std is the sample std (n - 1), None below
two samples.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .model import CANCELLED, EPS, RECEIVED, WITH_SUPPLIER, PoLine, PurchaseOrder

_DAY_S = 86400.0


@dataclass(frozen=True)
class Performance:
    orders: int  # POs (per supplier) or PO lines (per supplier-item) evaluated
    on_time: int
    in_full: int
    otif: int
    lead_time_mean_days: float | None
    lead_time_std_days: float | None
    lead_time_samples: int

    @property
    def otif_rate(self) -> float | None:
        return self.otif / self.orders if self.orders else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.orders if self.orders else None

    @property
    def in_full_rate(self) -> float | None:
        return self.in_full / self.orders if self.orders else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"orders": self.orders, "otif_rate": self.otif_rate, "on_time_rate": self.on_time_rate,
                "in_full_rate": self.in_full_rate, "lead_time_mean_days": self.lead_time_mean_days,
                "lead_time_std_days": self.lead_time_std_days, "lead_time_samples": self.lead_time_samples}


def evaluated(po: PurchaseOrder, now: datetime) -> bool:
    if po.sent_at is None:
        return False
    if po.status == RECEIVED:
        return True
    if po.status == CANCELLED:
        return any(ln.received_quantity > 0 for ln in po.lines)
    due = po.due_date
    return po.status in WITH_SUPPLIER and due is not None and now.date() > due


def _line_on_time(po: PurchaseOrder, line: PoLine) -> bool:
    due = po.due_date
    return line.received_at is not None and (due is None or line.received_at.date() <= due)


def _line_in_full(line: PoLine) -> bool:
    return line.received_quantity + EPS >= line.quantity


def _days(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds() / _DAY_S


def _summarise(marks: list[tuple[bool, bool]], lead_times: list[float]) -> Performance:
    return Performance(
        orders=len(marks), on_time=sum(t for t, _ in marks), in_full=sum(f for _, f in marks),
        otif=sum(t and f for t, f in marks),
        lead_time_mean_days=statistics.fmean(lead_times) if lead_times else None,
        lead_time_std_days=statistics.stdev(lead_times) if len(lead_times) >= 2 else None,
        lead_time_samples=len(lead_times))


def by_supplier(pos: Iterable[PurchaseOrder], now: datetime) -> dict[str, Performance]:
    marks: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    leads: dict[str, list[float]] = defaultdict(list)
    for po in pos:
        if not evaluated(po, now):
            continue
        on_time = po.status == RECEIVED and all(_line_on_time(po, ln) for ln in po.lines)
        marks[po.supplier_id].append((on_time, all(_line_in_full(ln) for ln in po.lines)))
        lead = _days(po.sent_at, po.received_at) if po.status == RECEIVED else None
        if lead is not None:
            leads[po.supplier_id].append(lead)
    return {s: _summarise(m, leads[s]) for s, m in marks.items()}


def by_supplier_item(pos: Iterable[PurchaseOrder], now: datetime) -> dict[tuple[str, str], Performance]:
    """Keyed by (supplier_id, sku); every PO line is one order of that supplier-item."""
    marks: dict[tuple[str, str], list[tuple[bool, bool]]] = defaultdict(list)
    leads: dict[tuple[str, str], list[float]] = defaultdict(list)
    for po in pos:
        if not evaluated(po, now):
            continue
        for ln in po.lines:
            key = (po.supplier_id, ln.sku)
            marks[key].append((_line_on_time(po, ln), _line_in_full(ln)))
            lead = _days(po.sent_at, ln.received_at)
            if lead is not None:
                leads[key].append(lead)
    return {k: _summarise(m, leads[k]) for k, m in marks.items()}
