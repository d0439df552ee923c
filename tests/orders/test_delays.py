"""po_late and supplier_unresponsive alerts fire on wall-clock time and resolve when the cause clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.orders.domain import (
    acknowledge,
    apply_receipt,
    delay_alerts,
    mark_delivery_failed,
    mark_delivery_retrying,
    po_late_alert,
    reschedule,
    unresponsive_alert,
)

from .builders import T0, later, sent

DAY = timedelta(days=1)
ALERT_KEYS = {"key", "type", "severity", "status", "summary", "explanation", "occurred_at", "labels"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_po_is_not_late_on_its_expected_day_and_late_the_day_after():
    po = sent()  # expected 2026-11-09
    assert po_late_alert(po, at("2026-11-09T23:59:59"))["status"] == "resolved"
    alert = po_late_alert(po, at("2026-11-10T00:00:00"))
    assert alert["status"] == "firing" and alert["key"] == f"po_late:{po.po_id}"
    assert alert["type"] == "po_late" and alert["severity"] == "warning"
    assert alert["po_id"] == po.po_id and alert["supplier_id"] == "SUP-1"
    assert alert["sku"] == "SKU-1" and alert["location"] == "store-1"
    assert alert["value_at_risk"] == 90.0 and alert["explanation"]["days_late"] == 1
    assert alert["occurred_at"] == "2026-11-10T00:00:00+00:00"
    assert ALERT_KEYS <= set(alert)


def test_late_becomes_critical_after_three_days():
    assert po_late_alert(sent(), at("2026-11-12T08:00:00"))["severity"] == "critical"


def test_promised_date_takes_precedence_over_expected():
    po, _ = acknowledge(sent(), "2026-11-12", None, "SUP-1", later(hours=1))
    assert po_late_alert(po, at("2026-11-11T12:00:00"))["status"] == "resolved"
    fired = po_late_alert(po, at("2026-11-13T00:00:00"))
    assert fired["status"] == "firing" and fired["explanation"]["due_from"] == "promised_date"


def test_po_late_resolves_on_full_receipt_not_on_partial():
    po = sent(("SKU-1", "store-1", 36), ("SKU-2", "store-2", 12))
    now = at("2026-11-11T10:00:00")
    assert po_late_alert(po, now)["status"] == "firing"
    assert po_late_alert(po, now).get("sku") is None  # a two-line PO is not about one sku
    po, _ = apply_receipt(po, "SKU-1", "store-1", 36, now)
    partial = po_late_alert(po, now)
    assert partial["status"] == "firing" and partial["value_at_risk"] == 30.0  # 12 x 2.5 still open
    po, _ = apply_receipt(po, "SKU-2", "store-2", 12, now)
    assert po_late_alert(po, now)["status"] == "resolved"


def test_po_late_resolves_when_rescheduled():
    po, _ = reschedule(sent(), at("2026-11-20T00:00:00").date(), "buyer-1", later(days=8))
    assert po_late_alert(po, at("2026-11-11T00:00:00"))["status"] == "resolved"


def test_unacknowledged_po_makes_supplier_unresponsive_after_the_timeout():
    po = sent()
    just_before = T0 + 2 * DAY - timedelta(seconds=1)
    assert unresponsive_alert("SUP-1", [po], just_before, 2 * DAY)["status"] == "resolved"
    alert = unresponsive_alert("SUP-1", [po], T0 + 2 * DAY, 2 * DAY)
    assert alert["status"] == "firing" and alert["key"] == "supplier_unresponsive:SUP-1"
    assert alert["severity"] == "warning" and alert["explanation"]["unacknowledged_po_ids"] == [po.po_id]


def test_acknowledgement_resolves_unresponsive():
    po, _ = acknowledge(sent(), "2026-11-09", None, "SUP-1", T0 + 3 * DAY)
    assert unresponsive_alert("SUP-1", [po], T0 + 3 * DAY, 2 * DAY)["status"] == "resolved"


def test_failed_last_retry_fires_critical_immediately():
    po = mark_delivery_failed(sent(), 6, later(hours=1))
    alert = unresponsive_alert("SUP-1", [po], later(hours=1), timedelta(days=2))
    assert alert["status"] == "firing" and alert["severity"] == "critical"
    assert alert["explanation"]["undelivered_po_ids"] == [po.po_id]


def test_a_push_still_failing_fires_a_warning_only_from_the_configured_attempt():
    po = sent()
    four = mark_delivery_retrying(po, 4, "webhook: HTTP 503 after 4 attempt(s)")
    five = mark_delivery_retrying(po, 5, "webhook: HTTP 503 after 5 attempt(s)")
    assert unresponsive_alert("SUP-1", [four], later(hours=1), 2 * DAY, after_attempt=5)["status"] == "resolved"
    assert unresponsive_alert("SUP-1", [five], later(hours=1), 2 * DAY)["status"] == "resolved"  # no threshold
    alert = unresponsive_alert("SUP-1", [five], later(hours=1), 2 * DAY, after_attempt=5)
    assert (alert["status"], alert["severity"], alert["po_id"]) == ("firing", "warning", po.po_id)
    assert alert["explanation"]["retrying_po_ids"] == [po.po_id]
    assert alert["explanation"]["unresponsive_after_attempt"] == 5
    assert "HTTP 503 after 5 attempt(s)" in alert["summary"]


def test_a_push_failed_for_good_beside_one_still_retrying_is_critical():
    retrying = mark_delivery_retrying(sent(), 6, "webhook: HTTP 500 after 6 attempt(s)")
    failed = mark_delivery_failed(sent(("SKU-2", "store-1", 12)), 9, later(hours=1), "webhook: gave up")
    alert = unresponsive_alert("SUP-1", [retrying, failed], later(hours=1), 2 * DAY, after_attempt=5)
    assert (alert["severity"], alert["po_id"]) == ("critical", failed.po_id)
    assert "still retrying" in alert["summary"]


def test_delay_alerts_pass_the_threshold_through():
    po = mark_delivery_retrying(sent(), 5, "webhook: HTTP 503 after 5 attempt(s)")
    by_type = {a["type"]: a for a in delay_alerts(po, later(hours=3), 2 * DAY, after_attempt=5)}
    assert by_type["supplier_unresponsive"]["status"] == "firing"
    assert by_type["po_late"]["status"] == "resolved"  # po_late does not care about delivery


def test_one_ignored_po_keeps_the_supplier_alert_firing():
    ignored = sent()
    answered, _ = acknowledge(sent(("SKU-2", "store-1", 12)), "2026-11-09", None, "SUP-1", later(hours=1))
    alerts = delay_alerts(answered, T0 + 3 * DAY, 2 * DAY, supplier_pos=[ignored, answered])
    by_type = {a["type"]: a for a in alerts}
    assert by_type["supplier_unresponsive"]["status"] == "firing"
    assert by_type["po_late"]["status"] == "resolved"


def test_unack_timeout_accepts_seconds():
    assert unresponsive_alert("SUP-1", [sent()], T0 + DAY, 3600)["status"] == "firing"


def test_delay_alerts_with_active_keys_return_only_changes():
    po = sent()
    late_key, sup_key = f"po_late:{po.po_id}", "supplier_unresponsive:SUP-1"
    now = at("2026-11-10T01:00:00")
    full = delay_alerts(po, now, 2 * DAY)
    assert [(a["key"], a["status"]) for a in full] == [(late_key, "firing"), (sup_key, "firing")]
    assert delay_alerts(po, now, 2 * DAY, active={late_key, sup_key}) == []
    po, _ = acknowledge(po, "2026-11-12", None, "SUP-1", now)
    changes = delay_alerts(po, now, 2 * DAY, active={late_key, sup_key})
    assert [(a["key"], a["status"]) for a in changes] == [(late_key, "resolved"), (sup_key, "resolved")]
    assert delay_alerts(po, now, 2 * DAY, active=set()) == []
