"""Deadlines of the incremental delay pass: when a PO's alerts can change with no change to the PO itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.orders.domain import acknowledge, apply_receipt, late_from, next_check_at, unresponsive_alert

from .builders import T0, later, sent

HOUR = 3600.0


def test_sent_po_is_next_checked_when_the_acknowledgement_timeout_passes():
    po = sent(at=T0)  # expected 2026-11-09 (lead 7 days)
    assert next_check_at(po, later(hours=1), HOUR * 24) == T0 + timedelta(hours=24)


def test_acknowledged_po_is_next_checked_at_midnight_after_its_promise_then_three_days_later():
    po, _ = acknowledge(sent(at=T0), "2026-11-05", None, "SUP-1", later(hours=1))
    first = datetime(2026, 11, 6, tzinfo=UTC)
    assert late_from(po) == first
    assert next_check_at(po, later(hours=2), HOUR) == first
    assert next_check_at(po, first, HOUR) == datetime(2026, 11, 9, tzinfo=UTC)  # turns critical
    assert next_check_at(po, datetime(2026, 11, 9, tzinfo=UTC), HOUR) is None


def test_received_po_has_no_deadline():
    po, _ = apply_receipt(sent(at=T0), "SKU-1", "store-1", 36, later(days=2), receipt_id="r1")
    assert po.status == "received" and late_from(po) is None and next_check_at(po, later(days=2), HOUR) is None


def test_transfer_is_never_waited_on_for_an_acknowledgement():
    po = replace(sent(at=T0), supplier_id="transfer:dc-1")
    # only the late deadline (expected 2026-11-09 -> late from the 10th), no ack timeout after 1 h
    assert next_check_at(po, T0, HOUR) == datetime(2026, 11, 10, tzinfo=UTC)
    alert = unresponsive_alert("transfer:dc-1", [po], later(days=5), HOUR)
    assert alert["status"] == "resolved"
