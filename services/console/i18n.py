"""The console's words in English and Chinese; the language comes from the `lang` cookie, else the browser."""
from __future__ import annotations

from starlette.requests import Request

LANGS = ("en", "zh")
LANG_COOKIE = "lang"

EN = {
    "app": "Replenish console", "overview": "Overview", "positions": "Positions", "alerts": "Alerts",
    "purchase_orders": "Purchase orders", "suppliers": "Suppliers", "sign_in": "Sign in", "sign_out": "Sign out",
    "token": "Access token", "token_help": "Paste the token you were given (planner, approver, ops or admin).",
    "bad_token": "This token is not valid or has been revoked.",
    "bad_role": "This token belongs to an {role} account, which cannot use the console: "
                "sign in with a planner, approver, ops or admin token.",
    "too_many": "Too many attempts: wait a minute and try again.",
    "signed_in_as": "Signed in as", "language": "Language", "status": "Status", "location": "Location",
    "sku": "SKU", "filter": "Filter", "all": "all", "next_page": "Next page", "first_page": "First page",
    "on_hand": "On hand", "on_order": "On order", "inventory_position": "Inventory position",
    "days_of_cover": "Days of cover", "projected_stockout_date": "Projected stockout",
    "reorder_point": "Reorder point (ROP)", "order_up_to": "Order-up-to (S)", "safety_stock": "Safety stock",
    "daily_demand": "Daily demand", "lead_time_days": "Lead time (days)", "service_level": "Service level",
    "as_of": "As of", "explanation": "Why these numbers", "open_pos": "Open purchase orders",
    "sales_history": "Sales", "forecast_mean": "Forecast mean", "band": "p10–p90 band", "chart": "Stock and demand",
    "no_forecast": "No forecast yet.", "none": "None.", "severity": "Severity", "type": "Type",
    "summary": "Summary", "fired": "Fired", "acked_by": "Acknowledged by", "comment": "Comment",
    "verdict": "Verdict", "verdict_useful": "useful", "verdict_noise": "noise", "verdict_unsure": "not sure",
    "acknowledge": "Acknowledge", "resolve": "Resolve", "silence": "Silence", "silence_hours": "Hours",
    "reason": "Reason", "history": "History", "deliveries": "Delivery log", "channel": "Channel",
    "attempts": "Attempts", "at": "At", "actor": "By", "action": "Action", "approve": "Approve",
    "reject": "Reject", "supplier": "Supplier", "total": "Total", "created_at": "Created",
    "expected_date": "Expected", "lines": "Lines", "quantity": "Quantity", "unit_cost": "Unit cost",
    "received": "Received", "audit": "Audit trail", "otif": "On time in full", "on_time": "On time",
    "in_full": "In full", "lead_time_mean": "Lead time, mean (days)", "lead_time_std": "Lead time, std (days)",
    "orders": "Orders", "freshness": "Data freshness", "source": "Source", "last_event": "Last event",
    "stale": "stale", "fresh": "fresh", "kpis": "Key figures", "not_measured": "not yet measured",
    "estimate": "estimate", "ack_link_title": "Acknowledge this alert?", "confirm": "Acknowledge now",
    "ack_done": "Acknowledged. Escalation stops.", "link_gone": "This link can no longer be used",
    "not_allowed": "Your role may not do this.", "service_down": "A service did not answer: {what}",
    "not_found": "Not found.", "refused": "Refused: {why}", "open_alert": "Open the alert page",
    "ok": "ok", "watch": "watch", "critical": "critical", "stockout": "stockout", "overstock": "overstock",
    "firing": "firing", "acknowledged": "acknowledged", "resolved": "resolved", "warning": "warning",
    "info": "info", "forbidden_csrf": "This form has expired or came from another site: reload the page.",
    "in_stock_rate": "In-stock rate", "fill_rate_est": "Fill rate (estimate)", "stockout_days": "Stockout days",
    "inventory_value": "Inventory value", "turns": "Inventory turns", "wape": "Forecast WAPE",
    "bias": "Forecast bias", "alert_precision": "Alert precision", "tta": "Time to acknowledge (p50 / p90)",
    "positions_by_status": "Positions by status", "firing_alerts": "Firing alerts", "pending_pos": "POs to approve",
    "phone_hint": "You are acknowledging as the receiver of this message.",
    "stale_sources": "{n} stale", "kpi_window": "Last {days} days, {start} to {end}",
}
ZH = {
    "app": "智能补货控制台", "overview": "总览", "positions": "库存头寸", "alerts": "告警", "purchase_orders": "采购单",
    "suppliers": "供应商", "sign_in": "登录", "sign_out": "退出", "token": "访问令牌",
    "token_help": "粘贴分配给您的令牌（计划员、审批人、运维或管理员）。", "bad_token": "令牌无效或已被吊销。",
    "bad_role": "该令牌属于 {role} 账户，不能使用控制台：请用计划员、审批人、运维或管理员令牌登录。",
    "too_many": "尝试次数过多，请一分钟后再试。", "signed_in_as": "当前用户", "language": "语言", "status": "状态",
    "location": "门店/仓库", "sku": "商品", "filter": "筛选", "all": "全部", "next_page": "下一页",
    "first_page": "第一页", "on_hand": "现有库存", "on_order": "在途", "inventory_position": "库存头寸",
    "days_of_cover": "可售天数", "projected_stockout_date": "预计缺货日", "reorder_point": "再订货点（ROP）",
    "order_up_to": "补货上限（S）", "safety_stock": "安全库存", "daily_demand": "日均需求",
    "lead_time_days": "提前期（天）", "service_level": "服务水平", "as_of": "截至", "explanation": "数字从何而来",
    "open_pos": "未完成采购单", "sales_history": "销量", "forecast_mean": "预测均值", "band": "p10–p90 区间",
    "chart": "库存与需求", "no_forecast": "尚无预测。", "none": "无。", "severity": "级别", "type": "类型",
    "summary": "摘要", "fired": "触发时间", "acked_by": "确认人", "comment": "备注", "verdict": "判断",
    "verdict_useful": "有用", "verdict_noise": "误报", "verdict_unsure": "不确定", "acknowledge": "确认处理",
    "resolve": "关闭", "silence": "静默", "silence_hours": "小时", "reason": "原因", "history": "处理记录",
    "deliveries": "通知记录", "channel": "渠道", "attempts": "尝试次数", "at": "时间", "actor": "操作人",
    "action": "操作", "approve": "批准", "reject": "驳回", "supplier": "供应商", "total": "金额",
    "created_at": "创建时间", "expected_date": "预计到货", "lines": "明细", "quantity": "数量", "unit_cost": "单价",
    "received": "已收货", "audit": "审计记录", "otif": "准时足量率", "on_time": "准时率", "in_full": "足量率",
    "lead_time_mean": "平均提前期（天）", "lead_time_std": "提前期标准差（天）", "orders": "订单数",
    "freshness": "数据新鲜度", "source": "数据源", "last_event": "最近事件", "stale": "过期", "fresh": "正常",
    "kpis": "关键指标", "not_measured": "尚未测量", "estimate": "估计值", "ack_link_title": "确认处理这条告警？",
    "confirm": "立即确认", "ack_done": "已确认，升级通知停止。", "link_gone": "此链接已不能使用",
    "not_allowed": "您的角色无权执行此操作。", "service_down": "服务未响应：{what}", "not_found": "未找到。",
    "refused": "被拒绝：{why}", "open_alert": "打开告警页面", "ok": "正常", "watch": "关注", "critical": "紧急",
    "stockout": "缺货", "overstock": "积压", "firing": "告警中", "acknowledged": "已确认", "resolved": "已关闭",
    "warning": "警告", "info": "提示", "forbidden_csrf": "表单已过期或来自其他站点，请刷新页面。",
    "in_stock_rate": "有货率", "fill_rate_est": "满足率（估计）", "stockout_days": "缺货天数",
    "inventory_value": "库存金额", "turns": "库存周转次数", "wape": "预测 WAPE", "bias": "预测偏差",
    "alert_precision": "告警准确率", "tta": "确认用时（p50 / p90）", "positions_by_status": "各状态头寸数",
    "firing_alerts": "未处理告警", "pending_pos": "待审批采购单", "phone_hint": "您将以此消息接收方的身份确认。",
    "stale_sources": "{n} 个过期", "kpi_window": "最近 {days} 天（{start} 至 {end}）",
}
WORDS = {"en": EN, "zh": ZH}


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGS:
        return chosen
    accepted = request.headers.get("accept-language", "").lower()
    first = accepted.split(",")[0].strip()
    return "zh" if first.startswith("zh") else "en"


def translator(lang: str):
    words = WORDS.get(lang, EN)

    def t(key: str, **values) -> str:
        text = words.get(key) or EN.get(key) or key.replace("_", " ")
        return text.format(**values) if values else text

    return t
