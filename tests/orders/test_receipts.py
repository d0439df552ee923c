"""Receipts: partial, full, over and unmatched (flagged, never lost); cancel and reschedule."""

from __future__ import annotations

from datetime import date

import pytest

from services.orders.domain import ValidationError, acknowledge, apply_receipt, cancel, reschedule, snapshot

from .builders import later, proposed, sent

TWO = (("SKU-1", "store-1", 36), ("SKU-2", "store-1", 24))


def test_partial_then_full_receipt():
    po, out = apply_receipt(sent(*TWO), "SKU-1", "store-1", 36, later(days=6))
    assert po.status == "partially_received" and out.flags == () and out.audit.action == "receive_part"
    assert po.lines[0].received_at == later(days=6) and po.lines[1].received_at is None
    po, out = apply_receipt(po, "SKU-2", "store-1", 10, later(days=7))
    assert po.status == "partially_received" and po.lines[1].received_quantity == 10
    po, out = apply_receipt(po, "SKU-2", "store-1", 14, later(days=8))
    assert po.status == "received" and po.received_at == later(days=8) and out.audit.to_status == "received"
    assert [ln.open_quantity for ln in po.lines] == [0, 0]


def test_over_receipt_is_booked_and_flagged_with_the_excess():
    po, out = apply_receipt(sent(), "SKU-1", "store-1", 40, later(days=6))
    assert po.status == "received" and po.lines[0].received_quantity == 40
    (flag,) = out.flags
    assert flag.kind == "over_receipt" and flag.quantity == 4 and "ordered 36" in flag.detail


def test_receipt_after_completion_is_all_excess():
    po, _ = apply_receipt(sent(), "SKU-1", "store-1", 36, later(days=6))
    po, out = apply_receipt(po, "SKU-1", "store-1", 5, later(days=7))
    assert po.status == "received" and po.lines[0].received_quantity == 41
    assert [(f.kind, f.quantity) for f in out.flags] == [("over_receipt", 5)] and out.audit is None


def test_receipt_without_a_matching_line_is_kept_and_flagged():
    po, out = apply_receipt(sent(), "SKU-7", "store-1", 6, later(days=6))
    assert po.status == "sent" and po.lines[0].received_quantity == 0
    assert [(r.sku, r.quantity) for r in po.unmatched_receipts] == [("SKU-7", 6)]
    assert out.flags[0].kind == "unmatched_line" and out.flags[0].quantity == 6


def test_receipt_for_the_same_sku_at_another_location_is_unmatched():
    po, out = apply_receipt(sent(), "SKU-1", "store-9", 12, later(days=6))
    assert out.flags[0].kind == "unmatched_line" and po.unmatched_receipts[0].location == "store-9"


def test_redelivered_receipt_id_is_a_no_op():
    po, _ = apply_receipt(sent(), "SKU-1", "store-1", 12, later(days=6), receipt_id="rcpt-1")
    again, out = apply_receipt(po, "SKU-1", "store-1", 12, later(days=6), receipt_id="rcpt-1")
    assert out.duplicate and again is po and again.lines[0].received_quantity == 12


def test_receipt_against_an_unsent_po_is_booked_but_flagged():
    po, out = apply_receipt(proposed(), "SKU-1", "store-1", 36, later(days=1))
    assert po.status == "proposed" and po.lines[0].received_quantity == 36
    assert [f.kind for f in out.flags] == ["unexpected_status"]


def test_short_acceptance_completes_on_the_accepted_quantity():
    po, _ = acknowledge(sent(), "2026-11-08", [{"sku": "SKU-1", "location": "store-1", "quantity": 24}],
                        "SUP-1", later(hours=1))
    po, _ = apply_receipt(po, "SKU-1", "store-1", 24, later(days=6))
    assert po.status == "received"


@pytest.mark.parametrize("bad", [0, -5, float("nan")])
def test_non_positive_receipt_is_refused(bad):
    with pytest.raises(ValidationError):
        apply_receipt(sent(), "SKU-1", "store-1", bad, later(days=6))


def test_cancel_keeps_received_quantities():
    po, _ = apply_receipt(sent(*TWO), "SKU-1", "store-1", 36, later(days=6))
    po, entry = cancel(po, "buyer-1", later(days=9), "supplier cannot deliver SKU-2")
    assert po.status == "cancelled" and po.lines[0].received_quantity == 36
    assert (entry.actor, entry.from_status, entry.reason) == ("buyer-1", "partially_received",
                                                               "supplier cannot deliver SKU-2")


def test_reschedule_moves_expected_date_or_the_promise():
    po, entry = reschedule(sent(), date(2026, 11, 12), "buyer-1", later(days=1), "port strike")
    assert po.expected_date == date(2026, 11, 12) and po.status == "sent"
    assert entry.reason == "2026-11-09 -> 2026-11-12; port strike"
    promised, _ = acknowledge(sent(), "2026-11-08", None, "SUP-1", later(hours=1))
    moved, _ = reschedule(promised, date(2026, 11, 15), "buyer-1", later(days=1))
    assert moved.promised_date == date(2026, 11, 15) and moved.due_date == date(2026, 11, 15)


def test_changes_after_sending_get_a_new_push_revision():
    po = sent()
    assert po.send_revision == 1
    moved, _ = reschedule(po, date(2026, 11, 12), "buyer-1", later(days=1))
    assert moved.send_revision == 2
    gone, _ = cancel(moved, "buyer-1", later(days=2))
    assert gone.send_revision == 3
    unsent, _ = cancel(proposed(), "buyer-1", later(days=1))
    assert unsent.send_revision == 1


def test_cancelled_po_snapshot_has_nothing_open():
    po, _ = apply_receipt(sent(*TWO), "SKU-1", "store-1", 12, later(days=6))
    assert [ln["open_quantity"] for ln in snapshot(po)["lines"]] == [24, 24]
    gone, _ = cancel(po, "buyer-1", later(days=7))
    assert [ln["open_quantity"] for ln in snapshot(gone)["lines"]] == [0, 0]
