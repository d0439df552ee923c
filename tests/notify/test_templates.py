"""Message templates: rich chat/email, short SMS (≤ 140 chars), JSON webhook, digests, English and Chinese."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from services.notify.domain import AlertState, acknowledge, alert_link, apply_event, render
from services.notify.domain.templates import SMS_LIMIT, key_figures
from tests.notify.conftest import T0, alert_event

BASE = "https://replenish.example.com/notify"


def _alert(alert_id="a1", **event) -> AlertState:
    event.setdefault("explanation", {"on_hand": 4, "days_of_cover": 1.5, "lead_time_days": 3,
                                     "formula": "on_hand / daily_demand", "inputs": {"nested": 1}})
    event.setdefault("value_at_risk", 1234.5)
    return apply_event(None, alert_event(**event), alert_id=alert_id, now=T0).state


def test_chat_message_in_english_carries_summary_figures_and_how_to_acknowledge():
    rendered = render(_alert(severity="critical"), "chat", "en", base_url=BASE)
    assert rendered.title == "[CRITICAL] Stockout risk · SKU-1 @ store-12"
    body = rendered.body
    assert body.startswith("**SKU-1 at store-12 runs out in 2 days**")
    for line in ("- Severity: CRITICAL", "- SKU: SKU-1", "- Location: store-12", "- Value at risk: 1,234.5",
                 "- On hand: 4", "- Days of cover: 1.5", "- Lead time (days): 3"):
        assert line in body, line
    assert "[Alert page](https://replenish.example.com/notify/v1/alerts/a1)" in body
    assert ("To acknowledge (stops escalation): POST https://replenish.example.com/notify/v1/alerts/a1/ack "
            "with an ops token") in body
    assert "](https://replenish.example.com/notify/v1/alerts/a1/ack)" not in body  # no bare link to a POST
    assert "nested" not in body  # only scalar figures are shown


def test_chat_message_in_chinese():
    rendered = render(_alert(severity="critical"), "chat", "zh", base_url=BASE)
    assert rendered.title == "【严重】缺货风险 · SKU-1 @ store-12"
    assert "- 商品：SKU-1" in rendered.body and "- 现有库存：4" in rendered.body
    assert "[告警详情](https://replenish.example.com/notify/v1/alerts/a1)" in rendered.body
    how = "确认处理（停止升级）：使用运维令牌 POST https://replenish.example.com/notify/v1/alerts/a1/ack"
    assert how in rendered.body


def test_email_is_plain_text_with_link_spelled_out():
    body = render(_alert(), "email", "en", base_url=BASE).body
    assert "**" not in body and "Alert page: https://replenish.example.com/notify/v1/alerts/a1\n" in body
    assert "POST https://replenish.example.com/notify/v1/alerts/a1/ack with an ops token" in body
    assert "First fired: 2026-03-02 09:00 UTC" in body


def test_resolved_message_says_so_and_has_no_ack_instructions():
    closed = replace(_alert(), status="resolved")
    en = render(closed, "chat", "en", base_url=BASE)
    zh = render(closed, "sms", "zh", base_url=BASE)
    assert en.title.startswith("[RESOLVED]") and "/ack" not in en.body
    assert zh.body.startswith("【已恢复】") and "/ack" not in zh.body


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_sms_fits_140_chars_and_keeps_alert_link_even_with_long_summary(locale):
    long_summary = "库存即将耗尽，" * 40 if locale == "zh" else "stock will run out very soon " * 20
    body = render(_alert(summary=long_summary), "sms", locale, base_url=BASE).body
    assert len(body) <= SMS_LIMIT
    assert body.endswith(" " + alert_link(BASE, "a1"))
    assert "…" in body


def test_short_sms_is_not_truncated():
    body = render(_alert(summary="2 left"), "sms", "en", base_url="http://n:8005").body
    assert body == "[WARNING] Stockout risk SKU-1 @ store-12: 2 left http://n:8005/v1/alerts/a1"


def test_digest_for_a_store_lists_alerts_most_severe_first():
    alerts = [_alert("a1", sku="SKU-1", severity="info"), _alert("a2", sku="SKU-2", severity="critical"),
              _alert("a3", sku="SKU-3", severity="warning")]
    en = render(alerts, "chat", "en", base_url=BASE)
    assert en.title == "Replenish: 3 alerts at store-12 (1 critical)"
    lines = en.body.splitlines()
    assert [line.split("SKU-")[1][0] for line in lines[:3]] == ["2", "3", "1"]
    assert [line.rsplit("(", 1)[1] for line in lines[:3]] == [f"{BASE}/v1/alerts/{a})" for a in ("a2", "a3", "a1")]
    assert lines[-1].startswith(f"To acknowledge (stops escalation): POST {BASE}/v1/alerts/<id>/ack")
    zh = render(alerts, "email", "zh", base_url=BASE)
    assert zh.title == "Replenish：store-12 有 3 条告警（严重 1 条）"


def test_digest_for_a_supplier_and_sms_digest_length():
    alerts = [_alert(f"p{k}", type_="po_late", sku=f"SKU-{k}", location=f"store-{k}", supplier_id="SUP-9",
                     key=f"po_late:PO-{k}") for k in range(12)]
    assert render(alerts, "chat", "en", base_url=BASE).title == "Replenish: 12 alerts for supplier SUP-9"
    for locale in ("en", "zh"):
        sms = render(alerts, "sms", locale, base_url=BASE).body
        assert len(sms) <= SMS_LIMIT and "SUP-9" in sms


def test_webhook_body_is_json_with_alert_url_and_ack_endpoint():
    body = json.loads(render(_alert(), "webhook", "en", base_url=BASE).body)
    [item] = body["alerts"]
    assert item["key"] == "stockout_risk:store-12:SKU-1" and item["ack_url"] == f"{BASE}/v1/alerts/a1/ack"
    assert item["url"] == f"{BASE}/v1/alerts/a1"
    assert item["figures"]["On hand"] == "4" and item["revision"] == 1


def test_acknowledged_alert_shows_status():
    acked = acknowledge(_alert(), actor="li.wei", comment=None, now=T0).state
    body = render(acked, "email", "en", base_url=BASE).body
    assert "Status: ACKED" in body and "To acknowledge" not in body  # already owned


def test_key_figures_put_known_inventory_figures_first_and_cap_at_six():
    explanation = {"zeta": 1, "formula": "x", "days_of_cover": 2.25, "on_hand": 10, "a": 1, "b": 2, "c": 3}
    figures = key_figures(explanation, "en")
    assert figures[:2] == [("On hand", "10"), ("Days of cover", "2.25")]
    assert len(figures) == 6
