"""Words of the notification templates in English and Chinese."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "info": "INFO", "warning": "WARNING", "critical": "CRITICAL", "resolved": "RESOLVED",
        "acknowledged": "ACKED", "firing": "FIRING",
        "severity": "Severity", "status": "Status", "sku": "SKU", "location": "Location",
        "supplier_id": "Supplier", "po_id": "PO", "category": "Category", "value_at_risk": "Value at risk",
        "first_fired_at": "First fired", "figures": "Key figures", "ack": "Acknowledge", "ack_short": "ack",
        "view": "Alert page", "view_short": "view",
        "ack_how": "To acknowledge (stops escalation): POST {url} with an ops token, body {{\"comment\": \"…\"}}",
        "alerts": "alerts", "more": "and {n} more",
        "digest_at": "Replenish: {n} alerts at {where}",
        "digest_for": "Replenish: {n} alerts for supplier {where}",
        "digest": "Replenish: {n} alerts", "critical_count": "{n} critical",
        "stockout_risk": "Stockout risk", "below_safety_stock": "Below safety stock", "stockout": "Stockout",
        "overstock": "Overstock", "dead_stock": "Dead stock", "po_late": "PO late",
        "supplier_unresponsive": "Supplier unresponsive", "feed_stale": "Feed stale",
        "decision_failed": "Decision failed",
    },
    "zh": {
        "info": "提示", "warning": "警告", "critical": "严重", "resolved": "已恢复", "acknowledged": "已确认",
        "firing": "告警中",
        "severity": "级别", "status": "状态", "sku": "商品", "location": "地点", "supplier_id": "供应商",
        "po_id": "采购单", "category": "品类", "value_at_risk": "风险金额", "first_fired_at": "首次告警",
        "figures": "关键数据", "ack": "确认处理", "ack_short": "确认", "view": "告警详情",
        "view_short": "详情",
        "ack_how": "确认处理（停止升级）：使用运维令牌 POST {url}，请求体 {{\"comment\": \"…\"}}", "alerts": "条告警",
        "more": "另有 {n} 条",
        "digest_at": "Replenish：{where} 有 {n} 条告警",
        "digest_for": "Replenish：供应商 {where} 有 {n} 条告警",
        "digest": "Replenish：{n} 条告警", "critical_count": "严重 {n} 条",
        "stockout_risk": "缺货风险", "below_safety_stock": "低于安全库存", "stockout": "缺货",
        "overstock": "库存积压", "dead_stock": "呆滞库存", "po_late": "采购单延迟",
        "supplier_unresponsive": "供应商无响应", "feed_stale": "数据源中断",
        "decision_failed": "补货决策失败",
    },
}

# Explanation figures worth showing first, with their labels; other scalar inputs follow.
FIGURES: dict[str, dict[str, str]] = {
    "en": {
        "on_hand": "On hand", "inventory_position": "Inventory position", "on_order": "On order",
        "backorder": "Backorder", "days_of_cover": "Days of cover", "safety_stock": "Safety stock",
        "reorder_point": "Reorder point", "order_up_to": "Order up to", "lead_time_days": "Lead time (days)",
        "lead_time": "Lead time", "daily_demand": "Daily demand", "stockout_date": "Stockout date",
        "expected_date": "Expected date", "days_late": "Days late", "service_level": "Service level",
        "last_event_at": "Last data",
    },
    "zh": {
        "on_hand": "现有库存", "inventory_position": "库存位置", "on_order": "在途", "backorder": "欠货",
        "days_of_cover": "可售天数", "safety_stock": "安全库存", "reorder_point": "再订货点",
        "order_up_to": "目标库存", "lead_time_days": "提前期（天）", "lead_time": "提前期",
        "daily_demand": "日均需求", "stockout_date": "预计缺货日", "expected_date": "预计到货日",
        "days_late": "延迟天数", "service_level": "服务水平", "last_event_at": "最后数据时间",
    },
}


def text(locale: str, word: str, **values: object) -> str:
    """The word in the locale (English when missing), formatted with `values`."""
    phrase = TEXTS.get(locale, TEXTS["en"]).get(word) or TEXTS["en"].get(word, word)
    return phrase.format(**values) if values else phrase
