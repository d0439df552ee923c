"""Signature, idempotency key, the push verdict per answer, and the renderings a supplier receives (the push
schedule and the Standard Webhooks headers: test_push_schedule.py)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from datetime import date

import pytest

from services.orders.domain import (
    DELIVERED,
    RETRY,
    STOP,
    idempotency_key,
    is_success,
    mark_delivered,
    mark_delivery_failed,
    push_body,
    push_verdict,
    render_csv,
    send,
    sign,
    snapshot,
    submit,
    verify,
)

from .builders import RULES, T0, later, proposed, sent


def test_signature_verifies_with_an_independent_hmac():
    body = push_body(sent())
    header = sign(body, "s3cret")
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"
    assert hmac.compare_digest(header.removeprefix("sha256="), expected)


def test_signature_changes_with_secret_or_body():
    body = b'{"po_id":"PO-1"}'
    assert sign(body, "a") != sign(body, "b")
    assert sign(body, "a") != sign(body + b" ", "a")
    assert sign(body, b"a") == sign(body, "a")
    assert verify(body, "a", sign(body, "a")) and not verify(body, "b", sign(body, "a"))


def test_idempotency_key_is_stable_per_revision():
    assert idempotency_key("PO-SUP-1-abc", 1) == idempotency_key("PO-SUP-1-abc", 1)
    assert idempotency_key("PO-SUP-1-abc", 1) != idempotency_key("PO-SUP-1-abc", 2)
    assert idempotency_key("PO-SUP-1-abc", 1) != idempotency_key("PO-SUP-1-abd", 1)
    assert len(idempotency_key("PO-1", 1)) == 36  # a UUID


def test_push_body_is_byte_identical_across_retries_and_parses():
    po = sent(("SKU-1", "store-1", 30))
    assert push_body(po) == push_body(po)
    body = json.loads(push_body(po))
    assert body["po_id"] == po.po_id and body["supplier_id"] == "SUP-1" and body["revision"] == 1
    assert body["lines"] == [{"line": 1, "sku": "SKU-1", "location": "store-1", "quantity": 36,
                              "unit_cost": 2.5, "need_by": "2026-11-09"}]
    assert body["total"] == 90.0 and body["expected_date"] == "2026-11-09"


@pytest.mark.parametrize(("status", "ok"), [(200, True), (202, True), (299, True), (None, False),
                                            (301, False), (400, False), (429, False), (500, False)])
def test_only_2xx_counts_as_delivered(status, ok):
    assert is_success(status) is ok


@pytest.mark.parametrize(("status", "verdict"), [
    (200, DELIVERED), (204, DELIVERED), (None, RETRY), (301, RETRY), (400, RETRY), (401, RETRY), (403, RETRY),
    (404, RETRY), (408, RETRY), (409, RETRY), (422, RETRY), (429, RETRY), (500, RETRY), (502, RETRY),
    (503, RETRY), (504, RETRY), (410, STOP)])
def test_every_failure_is_retried_on_the_schedule_except_410_gone(status, verdict):
    assert push_verdict(status) == verdict


def test_send_sets_expected_date_from_the_longest_lead_time():
    approved, _ = submit(proposed(), RULES, T0)
    po, entry = send(approved, later(days=1))
    assert po.status == "sent" and po.sent_at == later(days=1) and entry.action == "send"
    assert po.expected_date == date(2026, 11, 10)  # 3 Nov + 7 days
    assert po.delivery_status == "pending"


def test_delivery_outcomes_are_recorded():
    po = sent()
    assert mark_delivered(po, 2).delivery_status == "delivered"
    failed = mark_delivery_failed(po, 6, later(hours=1))
    assert (failed.delivery_status, failed.delivery_attempts, failed.delivery_failed_at) == (
        "failed", 6, later(hours=1))


def test_csv_has_one_row_per_line_with_totals():
    po = sent(("SKU-1", "store-1", 30), ("SKU-2", "store-2", 5))
    rows = list(csv.DictReader(io.StringIO(render_csv(po))))
    assert [r["sku"] for r in rows] == ["SKU-1", "SKU-2"]
    assert rows[0]["quantity"] == "36" and rows[0]["line_total"] == "90" and rows[1]["quantity"] == "12"
    assert rows[0]["po_id"] == po.po_id and rows[0]["expected_date"] == "2026-11-09"


def test_csv_neutralises_spreadsheet_formulas():
    po = sent(("=HYPERLINK(1)", "store-1", 12))
    assert "'=HYPERLINK(1)" in render_csv(po)


def test_snapshot_matches_the_purchase_orders_topic_shape():
    snap = snapshot(sent())
    for key in ("po_id", "supplier_id", "status", "lines", "total", "created_at", "sent_at", "expected_date",
                "promised_date", "eta", "received_at", "reason"):
        assert key in snap
    line = snap["lines"][0]
    assert {"sku", "location", "quantity", "unit_cost", "received_quantity", "reorder_id"} <= set(line)
    assert line["reorder_id"] == "store-1:SKU-1:0" and snap["sent_at"] == "2026-11-02T09:00:00+00:00"
    json.dumps(snap)  # serialisable as is
