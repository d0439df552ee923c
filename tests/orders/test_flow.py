"""The whole life of a PO through the domain API: reorder -> consolidated -> approved -> sent -> received."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from services.orders.domain import (
    acknowledge,
    add_reorder,
    apply_receipt,
    delay_alerts,
    idempotency_key,
    push_body,
    send,
    ship,
    snapshot,
    submit,
    window_closed,
)

from .builders import RULES, T0, item, reorder


def test_reorder_to_received_po_leaves_a_complete_audit_trail():
    trail = []
    po, _ = add_reorder(None, reorder(rid="store-1:SKU-1:2026-11-02", quantity=30), item(), T0)
    po, added = add_reorder(po, reorder(rid="store-1:SKU-1:2026-11-02", quantity=30), item(),
                            T0 + timedelta(seconds=1))  # redelivered
    assert not added and not window_closed(po, 5, T0 + timedelta(seconds=1))
    now = T0 + timedelta(seconds=5)
    assert window_closed(po, 5, now)
    po, e = submit(po, RULES, now)
    trail.append(e)
    po, e = send(po, now)
    trail.append(e)
    body = push_body(po)
    sig = "sha256=" + hmac.new(b"s3cret-eval", body, hashlib.sha256).hexdigest()
    key = idempotency_key(po.po_id, po.send_revision)
    assert json.loads(body)["po_id"] == po.po_id and sig.startswith("sha256=") and key
    po, e = acknowledge(po, "2026-11-05", None, "SUP-1", now + timedelta(hours=1))
    trail.append(e)
    lines = [{"sku": ln.sku, "location": ln.location, "quantity": ln.quantity} for ln in po.lines]
    po, e = ship(po, "2026-11-05", lines, "SUP-1", now + timedelta(hours=2))
    trail.append(e)
    po, out = apply_receipt(po, "SKU-1", "store-1", 36, now + timedelta(days=3), receipt_id="rcpt-1")
    trail.append(out.audit)
    assert po.status == "received" and out.flags == ()
    assert [(e.from_status, e.to_status) for e in trail] == [
        ("proposed", "approved"), ("approved", "sent"), ("sent", "acknowledged"),
        ("acknowledged", "shipped"), ("shipped", "received")]
    snap = snapshot(po)
    assert snap["status"] == "received" and snap["lines"][0]["received_quantity"] == 36
    assert snap["lines"][0]["open_quantity"] == 0 and snap["reason"]
    # the same key on a retry of this revision
    assert idempotency_key(po.po_id, po.send_revision) == key
    assert all(a["status"] == "resolved" for a in delay_alerts(po, now + timedelta(days=30), 3600))


def test_naive_clock_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_reorder(None, reorder(), item(), T0.replace(tzinfo=None))
