"""Overview, positions (filters, paging) and one SKU-location with its chart, explanation and open POs."""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request

from services.console.charts import StockChart, stock_chart_svg
from services.console.i18n import language, translator
from services.console.kpis import gather_kpis, kpi_tiles, status_bars
from services.console.web import Refused, SignedIn, render, upstream

router = APIRouter()
STATUSES = ("stockout", "critical", "watch", "ok", "overstock")
HISTORY_DAYS = 56  # eight weeks of the past beside the forecast's horizon
OPEN_PO = ("proposed", "pending_approval", "approved", "sent", "acknowledged", "shipped", "partially_received")


@router.get("/")
async def overview(request: Request, session: SignedIn):
    up = upstream(request)
    # each service computes its own figures (its /v1/kpis); the console asks them all at once and only shows them
    policy, forecast, notify, orders, ingest, firing, pending, sources = await asyncio.gather(
        *(up.get_or_gap(name, "/v1/kpis", session.token) for name in ("policy", "forecast", "notify", "orders",
                                                                       "ingest")),
        up.get("notify", "/v1/alerts", session.token, status="firing", limit=10),
        up.get("orders", "/v1/purchase-orders", session.token, status="pending_approval", limit=10),
        up.get("ingest", "/v1/sources", session.token))
    kpis = gather_kpis(policy=policy, forecast=forecast, notify=notify, orders=orders, ingest=ingest)
    t = translator(language(request))
    return render(request, "overview.html", session, tiles=kpi_tiles(kpis, t), status_chart=status_bars(kpis, t),
                  window=kpis.get("window"), alerts=firing.items(), pending=pending.items(), sources=sources.items())


@router.get("/positions")
async def positions(request: Request, session: SignedIn, status: str = "", location: str = "", sku: str = "",
                    cursor: str = ""):
    settings = request.app.state.settings
    reply = await upstream(request).get("policy", "/v1/positions", session.token, status=status or None,
                                        location=location.strip() or None, sku=sku.strip() or None,
                                        limit=settings.page_size, cursor=cursor or None)
    if not reply.ok and reply.status != 422:
        raise Refused(reply.status if reply.status in (401, 403, 404) else 502, "refused", why=reply.message)
    return render(request, "positions.html", session, items=reply.items(), statuses=STATUSES,
                  problem=None if reply.ok else reply.message,
                  filters={"status": status, "location": location, "sku": sku},
                  next_cursor=reply.body.get("next_cursor") if reply.ok else None, cursor=cursor)


def _day(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date() if value else None
    except ValueError:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None


LEVELS = ("on_hand", "reorder_point", "order_up_to")


def chart_for(position: dict, forecast: dict | None, sales: list[dict], t, days: list[dict] = ()) -> str:
    """`sales`: forecast's demand history; `days`: policy's position history (on-hand, ROP and S per day)."""
    horizon = [(d, float(row.get("p10") or 0), float(row.get("mean") or 0), float(row.get("p90") or 0))
               for row in (forecast or {}).get("horizon", []) if (d := _day(row.get("date")))]
    levels = {k: float(position[k]) for k in LEVELS if isinstance(position.get(k), int | float)}
    history = [(d, float(row.get("quantity") or 0)) for row in sales if (d := _day(row.get("date")))]
    past = {k: [(d, float(row[k])) for row in days
                if (d := _day(row.get("date"))) and isinstance(row.get(k), int | float)] for k in levels}
    chart = StockChart(sales=history, forecast=horizon, levels=levels, today=_day(position.get("as_of")), history=past)
    legend = {"band": t("band"), "forecast": t("forecast_mean"), "on_hand": t("on_hand"),
              "reorder_point": t("reorder_point"), "order_up_to": t("order_up_to")}
    return stock_chart_svg(chart, title=t("chart"), legend=legend)


@router.get("/positions/{location}/{sku}")
async def position(request: Request, session: SignedIn, location: str, sku: str):
    up = upstream(request)
    found = await up.get("policy", f"/v1/positions/{location}/{sku}", session.token)
    if found.status == 404:
        raise Refused(404, "not_found")
    if not found.ok:
        raise Refused(502, "refused", why=found.message)
    forecast, sales, days, orders = await asyncio.gather(
        up.get("forecast", f"/v1/forecasts/{location}/{sku}", session.token),
        up.get("forecast", f"/v1/forecasts/{location}/{sku}/history", session.token, days=HISTORY_DAYS),
        up.get("policy", f"/v1/positions/{location}/{sku}/history", session.token, days=HISTORY_DAYS),
        up.get("orders", "/v1/purchase-orders", session.token, limit=200))
    open_pos = [po for po in orders.items() if po.get("status") in OPEN_PO
                and any(line.get("sku") == sku and line.get("location") == location for line in po.get("lines", []))]
    t = translator(language(request))
    svg = chart_for(found.body, forecast.body if forecast.ok else None, sales.items(), t, days.items())
    return render(request, "position.html", session, p=found.body, chart=svg, open_pos=open_pos,
                  forecast=forecast.body if forecast.ok else None,
                  explanation=flat(found.body.get("explanation") or {}))


def flat(explanation: dict, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """The explanation's numbers and words, nested sections as `section · name` (two levels at most)."""
    rows: dict[str, Any] = {}
    for key, value in explanation.items():
        name = f"{prefix} · {key}" if prefix else str(key)
        if isinstance(value, dict) and depth < 2:
            rows.update(flat(value, name, depth + 1))
        elif isinstance(value, str | int | float | bool) or value is None:
            rows[name] = value
    return rows
