"""Decide SKU-locations: demand, resolved policy, position, reorder and alerts, all as of event time.

A pass reads every input of its keys in a fixed number of bulk statements (inputs.py), decides each key in
the order given with the pure domain functions, then writes positions, reorders, alert states and events in
bulk (outputs.py). A key's donor read sees the positions decided earlier in the same pass, as it would if
each key were decided and written one after another.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from weakref import WeakKeyDictionary

from services.policy import repository as repo
from services.policy.domain.alerts import evaluate_alerts
from services.policy.domain.assemble import (
    blend_lead_time,
    donors_from,
    forecast_demand,
    history_demand,
    local_day_in,
    promotions_from,
)
from services.policy.domain.model import (
    DemandView,
    PolicyParams,
    Position,
    ReorderDecision,
    Stock,
)
from services.policy.domain.pooling import Factors, PoolKey, SharedFactor, pool_of, shared_factors
from services.policy.domain.position import compute_position, pool_terms, spread_over_protection
from services.policy.domain.promotions import with_promotions
from services.policy.domain.reorder import decide_reorder, why_not
from services.policy.domain.rules import RuleError, RuleOutcome, RuleSet, apply_rules, parse_rules
from services.policy.inputs import Key, KeyInputs, read_inputs, read_rules
from services.policy.models import locations
from services.policy.outputs import Decided, jsonable, write_decisions
from services.policy.pools import stored_factors
from services.policy.settings import PolicySettings, policy_settings
from shared.db.uow import UnitOfWork
from shared.events.topics import POLICY_ALERTS, AlertRaised
from shared.observability.metrics import DECISION_FAILURES

log = logging.getLogger(__name__)


async def recompute(uow: UnitOfWork, location: str, sku: str) -> Position | None:
    """Decide one key (None when it has no stock in event time yet)."""
    decided = await decide_keys(uow, [(location, sku)])
    return decided[0].position if decided else None


async def decide_keys(uow: UnitOfWork, keys: list[Key], *, as_of: datetime | None = None,
                      factors: Factors | None = None) -> list[Decided]:
    """Decide the keys in the order given and write the outcome; keys without stock are skipped. `as_of`: the
    closed day's end under the event clock (else each key's latest event time). `factors`: the shared safety
    factors per location (pooling.py; the event clock solves them for the day, else the stored positions')."""
    cfg = policy_settings()
    ttl_h = cfg.reorder_ttl_h if as_of is None else cfg.event_reorder_ttl_h
    inputs = await read_inputs(uow.session, keys, reorder_ttl_h=ttl_h, as_of=as_of)
    if not inputs:
        return []
    rules = await _rules(uow)
    if factors is None:
        factors = await stored_factors(uow.session, sorted({k.location for k in inputs}), cfg)
    fresh: dict[Key, dict[str, Any]] = {}  # positions decided earlier in this pass, as stored
    out = []
    for i, k in enumerate(inputs):
        if i and i % 5 == 0:
            await asyncio.sleep(0)  # pure CPU: let the consumer on this event loop take its next batch
        try:
            decided = decide_key(k, rules, cfg, fresh, factors.get(k.location, {}))
        except Exception as exc:  # one key's bad inputs must not stop the others, nor pass in silence
            await _decision_failed(uow, k, exc)
            continue
        fresh[k.key] = decided.stored
        out.append(decided)
    await write_decisions(uow, out)
    return out


async def _decision_failed(uow: UnitOfWork, k: KeyInputs, exc: Exception) -> None:
    """docs/contract.md §6 decision_failed: a critical alert for ops (and a metric), instead of never ordering again."""
    log.exception("deciding %s:%s failed", k.location, k.sku)
    DECISION_FAILURES.inc()
    key = f"decision_failed:{k.location}:{k.sku}"
    alert = AlertRaised(key=key, type="decision_failed", severity="critical", status="firing",
                        summary=f"{k.sku} at {k.location} could not be decided: {type(exc).__name__}",
                        explanation={"error": f"{type(exc).__name__}: {str(exc)[:300]}", "as_of": k.as_of.isoformat()},
                        sku=k.sku, location=k.location, occurred_at=k.as_of, labels={"team": "ops"})
    await uow.publish(POLICY_ALERTS, key=key, type="replenish.alert", time=k.as_of,
                      data=alert.model_dump(mode="json", exclude_none=True))


def decide_key(k: KeyInputs, rules: RuleSet, cfg: PolicySettings, fresh: dict[Key, dict[str, Any]],
               factors: Mapping[PoolKey, SharedFactor] | None = None) -> Decided:
    """One key's position, reorder and alert changes from its inputs (no I/O)."""
    core = decide_core(k, key_demand(k), rules, cfg, fresh, factors)
    stock, position, decision, params = core.stock, core.position, core.decision, core.params
    if decision is not None:
        stock = replace(stock, on_order=stock.on_order + decision.quantity)
        position = compute_position(k.sku, k.location, stock, core.demand, params, k.as_of, factors)
    position = replace(position, explanation={**position.explanation, **core.fed, "decision": core.note})
    alerts = evaluate_alerts(position, k.alerts, config=cfg.alert_config(), unit_cost=params.unit_cost,
                             last_sale_at=k.last_sale_at, supplier_id=(k.si or {}).get("supplier_id"),
                             receivers=core.outcome.receivers, forced_types=core.outcome.forced_alerts)
    return Decided(position, jsonable(position.to_dict()), decision, alerts, k.item.get("category"))


@dataclass(frozen=True)
class Core:
    """A key's reorder decision and what it was made from (the position before the order)."""

    stock: Stock
    demand: DemandView  # with promotions
    params: PolicyParams
    outcome: RuleOutcome
    fed: dict[str, Any]
    position: Position
    note: dict[str, Any]
    decision: ReorderDecision | None


def key_demand(k: KeyInputs) -> DemandView:
    """The latest forecast's demand after the decision day, else the sales history's (cold start)."""
    return forecast_demand(k.forecast, k.day) or history_demand(k.first_sale, k.sales, k.day)


def decide_core(k: KeyInputs, demand: DemandView, rules: RuleSet, cfg: PolicySettings,
                fresh: dict[Key, dict[str, Any]], factors: Mapping[PoolKey, SharedFactor] | None = None) -> Core:
    """Whether and how much one key orders, from its inputs and demand view (no I/O): decide_key without the
    position after the order and the alerts. `replenish simulate` decides through it too."""
    stock = Stock(on_hand=k.on_hand, on_order=k.on_order, arrivals=tuple(k.arrivals))
    params, outcome, fed = resolve_params(k, stock, demand, rules, cfg)
    demand = _with_promotions(k, demand, params)
    position = compute_position(k.sku, k.location, stock, demand, params, k.as_of, factors)
    note, decision = _decide(k, position, params, fresh)
    return Core(stock, demand, params, outcome, fed, position, note, decision)


def pool_member(k: KeyInputs, demand: DemandView, rules: RuleSet, cfg: PolicySettings
                ) -> tuple[PoolKey, float, float, float] | None:
    """(pool, protection σ, cycle quantity, floor factor) a key adds to its location's shared factor (pooling.py),
    from the same params and demand view decide_core uses; None for a key outside every pool."""
    stock = Stock(on_hand=k.on_hand, on_order=k.on_order, arrivals=tuple(k.arrivals))
    params, _, _ = resolve_params(k, stock, demand, rules, cfg)
    demand = spread_over_protection(_with_promotions(k, demand, params), params)
    pool = pool_of(params, demand)
    if pool is None:
        return None
    return pool, *pool_terms(demand, params, cfg.fill_floor_gap)


async def day_factors(uow: UnitOfWork, keys: list[Key], as_of: datetime, chunk: int) -> Factors:
    """The shared factors of the keys' locations as of a closed day's end, solved from every key's targets that
    day (the event clock: a function of the day's events and forecasts, never of timing)."""
    cfg = policy_settings()
    if not cfg.pool_fill:
        return {}
    rules = await _rules(uow)
    members: dict[str, list[tuple[PoolKey, float, float, float]]] = {}
    for start in range(0, len(keys), chunk):
        for k in await read_inputs(uow.session, keys[start:start + chunk], reorder_ttl_h=cfg.event_reorder_ttl_h,
                                   as_of=as_of):
            try:
                member = pool_member(k, key_demand(k), rules, cfg)
            except Exception:  # its decision will fail and say so (decision_failed); it just adds nothing here
                continue
            if member is not None:
                members.setdefault(k.location, []).append(member)
    return {loc: shared_factors(m, cfg.fill_floor_gap) for loc, m in members.items()}


def _segment_context(k: KeyInputs, cfg: PolicySettings) -> tuple[dict[str, Any], float]:
    """Rules context of the SKU-location's segment and its default service level."""
    seg = k.segment
    if seg is None:
        return {}, cfg.default_service_level
    level = cfg.segment_defaults().service_level(seg.abc, seg.xyz)
    return {"abc": seg.abc, "xyz": seg.xyz, "pattern": seg.pattern}, level


def resolve_params(k: KeyInputs, stock: Stock, demand: DemandView, rules: RuleSet, cfg: PolicySettings
                   ) -> tuple[PolicyParams, RuleOutcome, dict[str, Any]]:
    """Base params (supplier item, learned lead time, segment level) after rules; plus what fed them."""
    si, item = k.si, k.item
    lead, lead_std, lead_info = blend_lead_time(si, *k.receipts)
    segment, level = _segment_context(k, cfg)
    base = PolicyParams(lead_time_days=lead, lead_time_std_days=lead_std, service_level=level,
                        moq=float((si or {}).get("moq") or 0), pack_size=float((si or {}).get("pack_size") or 1),
                        unit_cost=(si or {}).get("unit_cost") or item.get("unit_cost"),
                        overstock_days=cfg.overstock_days, distribution=cfg.demand_distribution,
                        lost_sales=cfg.lost_sales)
    ctx = {"sku": k.sku, "location": k.location, "category": item.get("category"),
           "supplier": (si or {}).get("supplier_id"), "on_hand": stock.on_hand, "on_order": stock.on_order,
           "backorder": stock.backorder, "inventory_position": stock.inventory_position,
           "daily_demand": demand.daily_mean, "unit_cost": base.unit_cost, "lead_time_days": lead, **segment}
    outcome = apply_rules(rules, ctx, base, k.day)
    fed = {"segment": segment, "lead_time": lead_info, "rules_matched": list(outcome.matched)}
    if k.waiting or k.expired_reorders:  # on order without a PO yet: say so, and what no longer counts
        fed["unconfirmed_reorders"] = {"counted": k.waiting, "expired": k.expired_reorders,
                                       "ttl_hours": cfg.reorder_ttl_h}
    return outcome.params, outcome, fed


def _with_promotions(k: KeyInputs, demand: DemandView, params: PolicyParams) -> DemandView:
    promos = promotions_from(k.promotions, k.day)
    if not promos:
        return demand
    window = int(params.lead_time_days + params.review_days) + 1
    return with_promotions(demand, promos, k.day, window)


def _decide(k: KeyInputs, position: Position, params: PolicyParams, fresh: dict[Key, dict[str, Any]]
            ) -> tuple[dict[str, Any], ReorderDecision | None]:
    """A reorder when due (never twice for a decision day); always say why or why not."""
    reason = why_not(position, params)
    # a sender decided earlier in this pass counts with its new position, as if it had been written already
    lanes = [(lane, fresh.get((sender, k.sku), pos)) for sender, lane, pos in k.lanes]
    donors = donors_from([(lane, pos) for lane, pos in lanes if pos is not None])
    if k.si is None and not donors:
        return {"emitted": False, "reason": f"{reason}; no supplier_item and no donor location: nothing to order"}, None
    decision = decide_reorder(position, params, k.day, (k.si or {}).get("supplier_id"), donors)
    if decision is None:
        return {"emitted": False, "reason": reason}, None
    if decision.kind == "purchase" and k.si is None:
        return {"emitted": False, "reason": f"{reason}; no supplier_item and no donor covers the quantity"}, None
    if k.reordered_today:
        return {"emitted": False, "reason": f"{reason}; already decided today as {decision.reorder_id}",
                "reorder_id": decision.reorder_id}, None
    return {"emitted": True, "reason": reason, "reorder_id": decision.reorder_id, "kind": decision.kind,
            "quantity": decision.quantity, "from_location": decision.from_location,
            "donors_considered": [d.location for d in donors]}, decision


# Rules read once per transaction: the decider decides many keys in one, and the rules cannot change within it.
_RULES: WeakKeyDictionary[Any, RuleSet] = WeakKeyDictionary()


async def _rules(uow: UnitOfWork) -> RuleSet:
    if uow.session in _RULES:
        return _RULES[uow.session]
    _RULES[uow.session] = ruleset = await _read_rules(uow)
    return ruleset


async def _read_rules(uow: UnitOfWork) -> RuleSet:
    doc, overrides = await read_rules(uow.session)
    doc = doc or {"version": 0, "rules": []}
    return parse_rules({"version": doc.get("version", 0), "rules": [*_valid(overrides), *doc.get("rules", [])]})


def _valid(overrides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overrides stored before a fix may not parse: one bad override must not stop every decision."""
    good = []
    for rule in overrides:
        try:
            parse_rules({"version": 0, "rules": [rule]})
            good.append(rule)
        except RuleError:
            log.warning("ignoring override %s: it is not a valid rule", rule.get("id"), exc_info=True)
    return good


async def local_day(uow: UnitOfWork, location: str, at: datetime) -> date:
    """Days are the location's local calendar days (docs/contract.md §8)."""
    data = await repo.get_data(uow.session, locations, location=location) or {}
    return local_day_in(data.get("timezone"), at)
