"""Recompute one SKU-location: demand, resolved policy, position, reorder and alerts, all as of event time."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

import numpy as np

from services.policy import repository as repo
from services.policy.domain.alerts import evaluate_alerts
from services.policy.domain.model import AlertState, DemandView, PolicyParams, Position, Stock
from services.policy.domain.position import compute_position
from services.policy.domain.promotions import Promotion, with_promotions
from services.policy.domain.reorder import Donor, decide_reorder, why_not
from services.policy.domain.rules import RuleOutcome, RuleSet, apply_rules, parse_rules
from services.policy.models import alert_states, items, locations, positions, reorders
from services.policy.settings import policy_settings
from shared.db.uow import UnitOfWork
from shared.events.topics import POLICY_ALERTS, REORDERS
from shared.observability.metrics import ALERTS, DECISIONS

HISTORY_DAYS = 56          # fallback demand window when no forecast has arrived yet
LEAD_TIME_PRIOR_WEIGHT = 3  # master-data lead time counts as this many receipts when blending


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


# Rules read once per transaction: the decider decides many keys in one, and the rules cannot change within it.
_RULES: WeakKeyDictionary[Any, RuleSet] = WeakKeyDictionary()


async def _rules(uow: UnitOfWork) -> RuleSet:
    if uow.session in _RULES:
        return _RULES[uow.session]
    _RULES[uow.session] = ruleset = await _read_rules(uow)
    return ruleset


async def _read_rules(uow: UnitOfWork) -> RuleSet:
    current = await repo.current_rules(uow.session)
    doc = current.doc if current else {"version": 0, "rules": []}
    overrides = await repo.all_overrides(uow.session)
    return parse_rules({"version": doc.get("version", 0), "rules": [*overrides, *doc.get("rules", [])]})


async def _segment_context(uow: UnitOfWork, location: str, sku: str) -> tuple[dict[str, Any], float]:
    """Rules context of the SKU-location's segment and its default service level."""
    cfg = policy_settings()
    seg = await repo.segment_for(uow.session, location, sku)
    if seg is None:
        return {}, cfg.default_service_level
    level = cfg.segment_defaults().service_level(seg.abc, seg.xyz)
    return {"abc": seg.abc, "xyz": seg.xyz, "pattern": seg.pattern}, level


async def learned_lead_time(uow: UnitOfWork, si: dict | None) -> tuple[float, float, dict[str, Any]]:
    """Master-data lead time blended with learned sent→received times (master counts as a few receipts)."""
    lead, lead_std = float((si or {}).get("lead_time_days", 7.0)), float((si or {}).get("lead_time_std_days") or 0)
    if not si:
        return lead, lead_std, {"source": "default"}
    n, mean, std = await repo.lead_time_stats(uow.session, si["supplier_id"], si["sku"])
    if not n:
        return lead, lead_std, {"source": "master", "receipts": 0}
    w = LEAD_TIME_PRIOR_WEIGHT
    blended = (w * lead + n * mean) / (w + n)
    blended_std = (w * lead_std + n * std) / (w + n) if n > 1 else lead_std
    return blended, blended_std, {"source": "blended", "receipts": n, "learned_mean": mean, "learned_std": std,
                                  "master": lead, "formula": f"(w·master + n·learned)/(w+n), w={w}, n={n}"}


async def resolve_params(uow: UnitOfWork, location: str, sku: str, item: dict, si: dict | None,
                         stock: Stock, demand: DemandView, day: date
                         ) -> tuple[PolicyParams, RuleOutcome, dict[str, Any]]:
    """Base params (supplier item, learned lead time, segment level) after rules; plus what fed them."""
    lead, lead_std, lead_info = await learned_lead_time(uow, si)
    segment, level = await _segment_context(uow, location, sku)
    base = PolicyParams(lead_time_days=lead, lead_time_std_days=lead_std, service_level=level,
                        moq=float((si or {}).get("moq") or 0), pack_size=float((si or {}).get("pack_size") or 1),
                        unit_cost=(si or {}).get("unit_cost") or item.get("unit_cost"),
                        overstock_days=policy_settings().overstock_days)
    ctx = {"sku": sku, "location": location, "category": item.get("category"),
           "supplier": (si or {}).get("supplier_id"), "on_hand": stock.on_hand, "on_order": stock.on_order,
           "backorder": stock.backorder, "inventory_position": stock.inventory_position,
           "daily_demand": demand.daily_mean, "unit_cost": base.unit_cost, "lead_time_days": lead, **segment}
    outcome = apply_rules(await _rules(uow), ctx, base, day)
    return outcome.params, outcome, {"segment": segment, "lead_time": lead_info,
                                     "rules_matched": list(outcome.matched)}


async def _donors(uow: UnitOfWork, location: str, sku: str) -> tuple[Donor, ...]:
    """Locations linked by a lane whose stock exceeds their own order-up-to level."""
    out = []
    for lane, pos in await repo.donors_for(uow.session, location, sku):
        excess = min(pos.get("on_hand") or 0.0, pos.get("inventory_position") or 0.0) - (pos.get("order_up_to") or 0)
        if excess > 0 and lane.get("lead_time_days") is not None:
            out.append(Donor(location=lane["from_location"], excess=float(excess),
                             lane_lead_time_days=float(lane["lead_time_days"]), lane_unit_cost=lane.get("unit_cost")))
    return tuple(out)


async def recompute(uow: UnitOfWork, location: str, sku: str) -> Position | None:
    row = await repo.stock_row(uow.session, location, sku)
    if row is None or row.last_event_at is None:
        return None
    as_of: datetime = row.last_event_at
    day = await local_day(uow, location, as_of)
    item = await repo.get_data(uow.session, items, sku=sku) or {}
    si = await repo.supplier_item_for(uow.session, sku)
    on_order, arrivals = await repo.on_order(uow.session, location, sku)
    # backorder stays 0: stores lose unserved sales (a sale is only recorded when it is served)
    stock = Stock(on_hand=(row.count_on_hand or 0.0) + row.delta_since_count, on_order=on_order,
                  arrivals=tuple(arrivals))
    demand = await demand_view(uow, location, sku, day)
    params, outcome, fed = await resolve_params(uow, location, sku, item, si, stock, demand, day)
    demand = await _with_promotions(uow, location, sku, demand, params, day)
    position = compute_position(sku, location, stock, demand, params, as_of)
    decision_note = await _decide(uow, position, params, si, day)
    if decision_note.get("emitted"):
        stock = replace(stock, on_order=stock.on_order + decision_note["quantity"])
        position = compute_position(sku, location, stock, demand, params, as_of)
    position = replace(position, explanation={**position.explanation, **fed, "decision": decision_note})
    await _alerts(uow, position, params, outcome, item, si, row.last_sale_at)
    await repo.upsert(uow.session, positions, {"location": location, "sku": sku, "status": position.status,
                                               "as_of": as_of, "data": _jsonable(position.to_dict())})
    return position


async def _decide(uow: UnitOfWork, position: Position, params: PolicyParams, si: dict | None,
                  day: date) -> dict[str, Any]:
    """Emit a reorder when due (never twice for a decision day); always say why or why not."""
    reason = why_not(position, params)
    donors = await _donors(uow, position.location, position.sku)
    if si is None and not donors:
        return {"emitted": False, "reason": f"{reason}; no supplier_item and no donor location: nothing to order"}
    decision = decide_reorder(position, params, day, (si or {}).get("supplier_id"), donors)
    if decision is None:
        return {"emitted": False, "reason": reason}
    if decision.kind == "purchase" and si is None:
        return {"emitted": False, "reason": f"{reason}; no supplier_item and no donor covers the quantity"}
    if await repo.reorder_exists(uow.session, decision.reorder_id):
        return {"emitted": False, "reason": f"{reason}; already decided today as {decision.reorder_id}",
                "reorder_id": decision.reorder_id}
    await _emit_reorder(uow, decision)
    return {"emitted": True, "reason": reason, "reorder_id": decision.reorder_id, "kind": decision.kind,
            "quantity": decision.quantity, "from_location": decision.from_location,
            "donors_considered": [d.location for d in donors]}


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
        reorder_id=decision.reorder_id, location=decision.location, sku=decision.sku, kind=decision.kind,
        quantity=decision.quantity, decided_at=decision.decided_at, status="open", payload=payload))
    await uow.publish(REORDERS, key=f"{decision.location}:{decision.sku}", type="replenish.policy.reorder",
                      time=decision.decided_at, data=payload, id=f"reorder:{decision.reorder_id}")
    DECISIONS.labels(decision.kind).inc()


async def _alerts(uow: UnitOfWork, position: Position, params: PolicyParams, outcome: RuleOutcome, item: dict,
                  si: dict | None, last_sale_at: datetime | None) -> None:
    keys = [f"{t}:{position.location}:{position.sku}" for t in
            ("stockout_risk", "below_safety_stock", "stockout", "overstock", "dead_stock")]
    rows = await repo.alert_state_map(uow.session, keys)
    previous = {k: AlertState(r.status, r.severity, r.since) for k, r in rows.items()}
    for decision in evaluate_alerts(position, previous, config=policy_settings().alert_config(),
                                    unit_cost=params.unit_cost, last_sale_at=last_sale_at,
                                    supplier_id=(si or {}).get("supplier_id"), receivers=outcome.receivers,
                                    forced_types=outcome.forced_alerts):
        data = _jsonable({k: getattr(decision, k) for k in decision.__dataclass_fields__})
        data["category"] = item.get("category")
        await uow.publish(POLICY_ALERTS, key=decision.key, type="replenish.alert", time=decision.occurred_at,
                          data=data)
        state = decision.state()
        await repo.upsert(uow.session, alert_states, {"key": decision.key, "status": state.status,
                                                      "severity": state.severity, "since": state.since})
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

