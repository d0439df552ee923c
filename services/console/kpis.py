"""The overview's tiles from the KPIs the services compute (§11); the console formats, it never computes them."""
from __future__ import annotations

from typing import Any

from services.console.charts import bars_svg

STATUSES = ("stockout", "critical", "watch", "ok", "overstock")


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.1f}%" if isinstance(value, int | float) else "—"


def _num(value: Any, digits: int = 1) -> str:
    return f"{float(value):,.{digits}f}" if isinstance(value, int | float) else "—"


def gather_kpis(**replies: Any) -> dict:
    """One figure set from the services' /v1/kpis answers (upstream Replies by service name); a service that did
    not answer leaves its figures out, so its tiles show —."""
    body = {name: reply.body if reply.ok and isinstance(reply.body, dict) else {} for name, reply in replies.items()}
    policy = body.get("policy", {})
    return {"window": policy.get("window") or body.get("forecast", {}).get("window"),
            "stock": policy.get("stock") or {}, "positions_by_status": policy.get("positions_by_status") or {},
            "forecast": body.get("forecast", {}), "alerts": body.get("notify", {}).get("alerts") or {},
            "suppliers": body.get("orders", {}).get("suppliers") or {},
            "freshness": body.get("ingest", {}).get("freshness") or {}}


def kpi_tiles(kpis: dict, t) -> list[dict]:
    """One tile per §11 figure, in §11's order; a figure a service does not report yet shows as —."""
    if not isinstance(kpis, dict):
        return []
    stock, alerts, suppliers = kpis.get("stock") or {}, kpis.get("alerts") or {}, kpis.get("suppliers") or {}
    forecast, freshness = kpis.get("forecast") or {}, kpis.get("freshness") or {}
    tta = alerts.get("time_to_acknowledge_s") or {}
    precision = alerts.get("precision")
    tiles = [
        {"name": "in_stock_rate", "value": _pct(stock.get("in_stock_rate"))},
        {"name": "fill_rate_est", "value": _pct(stock.get("estimated_fill_rate")), "estimate": True},
        {"name": "stockout_days", "value": _num(stock.get("stockout_days"), 0)},
        {"name": "inventory_value", "value": _num(stock.get("inventory_value"), 2)},
        {"name": "turns", "value": _num(stock.get("turns"))},
        {"name": "wape", "value": _pct(forecast.get("wape")), "note": _by_class(forecast.get("by_class"), "wape")},
        {"name": "bias", "value": _pct(forecast.get("bias")), "note": _by_class(forecast.get("by_class"), "bias")},
        {"name": "alert_precision", "value": _pct(precision) if precision is not None else t("not_measured")},
        {"name": "tta", "value": f"{_minutes(tta.get('p50'))} / {_minutes(tta.get('p90'))}"},
        {"name": "otif", "value": _pct(suppliers.get("otif_rate"))},
        {"name": "freshness", "value": _minutes(freshness.get("max_arrival_age_s")),
         "note": t("stale_sources", n=freshness["stale"]) if freshness.get("stale") else ""},
    ]
    return [tile for tile in tiles if kpis or tile["value"] != "—"]


def _minutes(seconds: Any) -> str:
    return f"{float(seconds) / 60:.0f} min" if isinstance(seconds, int | float) else "—"


def _by_class(rows: Any, field: str) -> str:
    if not isinstance(rows, dict):
        return ""
    return " · ".join(f"{name} {_pct(row.get(field))}" for name, row in sorted(rows.items()) if isinstance(row, dict))


def status_bars(kpis: dict, t) -> str:
    counts = (kpis or {}).get("positions_by_status") if isinstance(kpis, dict) else None
    if not isinstance(counts, dict) or not counts:
        return ""
    values = {s: float(counts.get(s, 0)) for s in STATUSES}
    return bars_svg(values, title=t("positions_by_status"), names={s: t(s) for s in STATUSES})
