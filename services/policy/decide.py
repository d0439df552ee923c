"""Recompute one SKU-location: demand, resolved policy, position, reorder and alerts, all as of event time."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from services.policy import repository as repo
from services.policy.domain.alerts import evaluate_alerts
from services.policy.domain.model import AlertState, DemandView, PolicyParams, Position, Stock
from services.policy.domain.position import compute_position
from services.policy.domain.promotions import Promotion, with_promotions
from services.policy.domain.reorder import decide_reorder
from services.policy.domain.rules import RuleSet, apply_rules, parse_rules
from services.policy.models import alert_states, items, locations, positions, reorders
from shared.db.uow import UnitOfWork
from shared.events.topics import POLICY_ALERTS, REORDERS
from shared.observability.metrics import ALERTS, DECISIONS

HISTORY_DAYS = 56          # fallback demand window when no forecast has arrived yet
LEAD_TIME_PRIOR_WEIGHT = 3  # master-data lead time counts as this many receipts when blending
DEFAULT_SERVICE_LEVEL = 0.95


async def demand_view(uow: UnitOfWork, location: str, sku: str, day: date) -> DemandView:
    forecast = await repo.forecast_payload(uow.session, location, sku)
    if forecast and forecast.get("horizon"):
        horizon = [p for p in forecast["horizon"] if p["date"] > day.isoformat()] or forecast["horizon"]
        means = np.array([p["mean"] for p in horizon], dtype=float)
        spread = np.array([(p["p90"] - p["p10"]) / 2.563 for p in horizon], dtype=float)
        std = forecast.get("residual_std")
        if std is None:  # no residual spread sent: read it off the p10–p90 band of a normal
            std = float(np.mean(spread[:28])) if len(spread) else 0.0
        return DemandView(daily_mean=float(np.mean(means[:28])), daily_std=float(std),
                          source=f"forecast:{forecast.get('model')}", horizon_means=means)
    first = await repo.first_sale_day(uow.session, location, sku)
    if first is None:
        return DemandView(daily_mean=0.0, daily_std=0.0, source="history")
    start = max(first, day - timedelta(days=HISTORY_DAYS - 1))
    sales = await repo.sales_history(uow.session, location, sku, start)
    n = max((day - start).days + 1, 1)
    series = np.array([sales.get(start + timedelta(days=i), 0.0) for i in range(n)])
    return DemandView(daily_mean=float(series.mean()), daily_std=float(series.std(ddof=1)) if n > 1 else 0.0,
                      source=f"history:{n}d")


async def _rules(uow: UnitOfWork) -> RuleSet:
    current = await repo.current_rules(uow.session)
    doc = current.doc if current else {"version": 0, "rules": []}
    overrides = await repo.all_overrides(uow.session)
    return parse_rules({"version": doc.get("version", 0), "rules": [*overrides, *doc.get("rules", [])]})


async def resolve_params(uow: UnitOfWork, location: str, sku: str, item: dict, si: dict | None,
                         stock: Stock, demand: DemandView, day: date) -> tuple[PolicyParams, Any]:
    lead, lead_std = (si or {}).get("lead_time_days", 7.0), (si or {}).get("lead_time_std_days") or 0.0
    if si:  # blend learned sent→received times with master data until receipts accumulate
        n, mean, std = await repo.lead_time_stats(uow.session, si["supplier_id"], sku)
        if n:
            w = LEAD_TIME_PRIOR_WEIGHT
            lead = (w * lead + n * mean) / (w + n)
            lead_std = (w * lead_std + n * std) / (w + n) if n > 1 else lead_std
    base = PolicyParams(lead_time_days=float(lead), lead_time_std_days=float(lead_std),
                        service_level=DEFAULT_SERVICE_LEVEL, moq=float((si or {}).get("moq") or 0),
                        pack_size=float((si or {}).get("pack_size") or 1),
                        unit_cost=(si or {}).get("unit_cost") or item.get("unit_cost"))
    ctx = {"sku": sku, "location": location, "category": item.get("category"),
           "supplier": (si or {}).get("supplier_id"), "on_hand": stock.on_hand, "on_order": stock.on_order,
           "inventory_position": stock.inventory_position, "daily_demand": demand.daily_mean,
           "unit_cost": base.unit_cost, "lead_time_days": base.lead_time_days}
    outcome = apply_rules(await _rules(uow), ctx, base, day)
    return outcome.params, outcome


async def recompute(uow: UnitOfWork, location: str, sku: str) -> Position | None:
    row = await repo.stock_row(uow.session, location, sku)
    if row is None or row.last_event_at is None:
        return None
    as_of: datetime = row.last_event_at
    day = await local_day(uow, location, as_of)
    item = await repo.get_data(uow.session, items, sku=sku) or {}
    si = await repo.supplier_item_for(uow.session, sku)
    on_order, arrivals = await repo.on_order(uow.session, location, sku)
    stock = Stock(on_hand=(row.count_on_hand or 0.0) + row.delta_since_count, on_order=on_order,
                  arrivals=tuple(arrivals))
    demand = await demand_view(uow, location, sku, day)
    params, outcome = await resolve_params(uow, location, sku, item, si, stock, demand, day)
    demand = await _with_promotions(uow, location, sku, demand, params, day)
    position = compute_position(sku, location, stock, demand, params, as_of)
    if si and not params.do_not_stock:
        decision = decide_reorder(position, params, day, si["supplier_id"])
        if decision and not await repo.reorder_exists(uow.session, decision.reorder_id):
            await _emit_reorder(uow, decision)
            stock = Stock(on_hand=stock.on_hand, on_order=stock.on_order + decision.quantity, arrivals=stock.arrivals)
            position = compute_position(sku, location, stock, demand, params, as_of)
    await _alerts(uow, position, params, outcome, item, si, row.last_sale_at)
    await repo.upsert(uow.session, positions, {"location": location, "sku": sku, "status": position.status,
                                               "as_of": as_of, "data": _jsonable(position.to_dict())})
    return position


async def local_day(uow: UnitOfWork, location: str, at: datetime) -> date:
    """Days are the location's local calendar days (CONTRACT §8)."""
    data = await repo.get_data(uow.session, locations, location=location) or {}
    try:
        return at.astimezone(ZoneInfo(data.get("timezone") or "UTC")).date()
    except (KeyError, ValueError):
        return at.astimezone(UTC).date()


async def _with_promotions(uow: UnitOfWork, location: str, sku: str, demand: DemandView, params: PolicyParams,
                           day: date) -> DemandView:
    promos = await repo.promotions_for(uow.session, location, sku, day)
    if not promos:
        return demand
    window = int(params.lead_time_days + params.review_days) + 1
    parsed = [Promotion(date.fromisoformat(p["start"][:10]), date.fromisoformat(p["end"][:10]),
                        p.get("expected_uplift")) for p in promos]
    return with_promotions(demand, parsed, day, window)


async def _emit_reorder(uow: UnitOfWork, decision) -> None:
    payload = _jsonable({k: getattr(decision, k) for k in decision.__dataclass_fields__})
    await uow.session.execute(reorders.insert().values(
        reorder_id=decision.reorder_id, location=decision.location, sku=decision.sku,
        quantity=decision.quantity, decided_at=decision.decided_at, status="open", payload=payload))
    await uow.publish(REORDERS, key=f"{decision.location}:{decision.sku}", type="replenish.policy.reorder",
                      time=decision.decided_at, data=payload, id=f"reorder:{decision.reorder_id}")
    DECISIONS.labels(decision.kind).inc()


async def _alerts(uow: UnitOfWork, position: Position, params: PolicyParams, outcome: Any, item: dict,
                  si: dict | None, last_sale_at: datetime | None) -> None:
    keys = [f"{t}:{position.location}:{position.sku}" for t in
            ("stockout_risk", "below_safety_stock", "stockout", "overstock", "dead_stock")]
    rows = await repo.alert_state_map(uow.session, keys)
    previous = {k: AlertState(r.status, r.severity, r.since) for k, r in rows.items()}
    for decision in evaluate_alerts(position, previous, unit_cost=params.unit_cost, last_sale_at=last_sale_at,
                                    supplier_id=(si or {}).get("supplier_id"), receivers=outcome.receivers,
                                    forced_types=outcome.forced_alerts):
        data = _jsonable({k: getattr(decision, k) for k in decision.__dataclass_fields__})
        data["category"] = item.get("category")
        await uow.publish(POLICY_ALERTS, key=decision.key, type="replenish.alert", time=decision.occurred_at,
                          data=data)
        await repo.upsert(uow.session, alert_states, {"key": decision.key, "status": decision.status,
                                                      "severity": decision.severity,
                                                      "since": decision.occurred_at})
        ALERTS.labels(decision.type, decision.severity).inc()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

