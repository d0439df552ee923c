"""PO renderings: the topic snapshot, the signed JSON push body, and the CSV attached to supplier emails."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

from .model import TERMINAL, PurchaseOrder, number

CSV_HEADER = ("po_id", "supplier_id", "line", "sku", "location", "quantity", "unit_cost", "line_total",
              "expected_date")


def _iso(v: date | datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def snapshot(po: PurchaseOrder) -> dict[str, Any]:
    """`replenish.orders.purchase-orders.v1` payload (events.md), plus a few extra keys the model allows."""
    closed = po.status in TERMINAL
    lines = [{"sku": ln.sku, "location": ln.location, "quantity": number(ln.quantity),
              "unit_cost": ln.unit_cost, "received_quantity": number(ln.received_quantity),
              "reorder_id": ln.reorder_ids[0] if ln.reorder_ids else None,
              "reorder_ids": list(ln.reorder_ids),
              "accepted_quantity": None if ln.accepted_quantity is None else number(ln.accepted_quantity),
              # a closed PO owes nothing more: nothing of it is on order any longer
              "open_quantity": 0 if closed else number(ln.open_quantity)} for ln in po.lines]
    return {
        "po_id": po.po_id, "supplier_id": po.supplier_id, "status": po.status, "lines": lines,
        "total": po.total, "created_at": _iso(po.created_at), "sent_at": _iso(po.sent_at),
        "expected_date": _iso(po.expected_date), "promised_date": _iso(po.promised_date),
        "eta": _iso(po.eta), "received_at": _iso(po.received_at), "reason": po.reason,
        "approvals": list(po.approvals), "acknowledged_at": _iso(po.acknowledged_at),
        "tracking": [s.tracking for s in po.shipments if s.tracking],
        "unmatched_receipts": [{"sku": r.sku, "location": r.location, "quantity": number(r.quantity),
                                "at": _iso(r.at)} for r in po.unmatched_receipts],
    }


def push_body(po: PurchaseOrder) -> bytes:
    """What the supplier's webhook receives. Canonical JSON (sorted keys, no spaces): every retry of one
    revision is byte-identical, so its signature and Idempotency-Key match."""
    body = {
        "po_id": po.po_id, "supplier_id": po.supplier_id, "revision": po.send_revision,
        "status": po.status, "created_at": _iso(po.created_at), "sent_at": _iso(po.sent_at),
        "expected_date": _iso(po.expected_date), "total": po.total,
        "lines": [{"line": i, "sku": ln.sku, "location": ln.location, "quantity": number(ln.quantity),
                   "unit_cost": ln.unit_cost, "need_by": _iso(ln.need_by)}
                  for i, ln in enumerate(po.lines, start=1)],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _cell(text: str) -> str:
    """Neutralise spreadsheet formulas: the supplier opens this attachment in Excel."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render_csv(po: PurchaseOrder) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for i, ln in enumerate(po.lines, start=1):
        writer.writerow((_cell(po.po_id), _cell(po.supplier_id), i, _cell(ln.sku), _cell(ln.location),
                         number(ln.quantity),
                         number(ln.unit_cost), number(round(ln.quantity * ln.unit_cost, 6)),
                         _iso(po.expected_date) or ""))
    return out.getvalue()
