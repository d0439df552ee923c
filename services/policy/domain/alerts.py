"""Stock alerts: conditions, graded severity, hysteresis between firing and resolving, stable keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .explain import _n
from .model import AlertDecision, AlertState, Position

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class AlertConfig:
    """Thresholds; `hysteresis` is the relative margin a condition must clear by before resolving."""

    dead_stock_days: int = 60
    critical_value: float = 1000.0
    hysteresis: float = 0.2
    overstock_days: float = 30.0


@dataclass(frozen=True)
class Condition:
    """One alert type evaluated on a position: is it on, is it clearly off, how bad, why."""

    type: str
    on: bool
    clear: bool
    severity: str
    summary: str
    value_at_risk: float | None
    explanation: dict


def alert_key(alert_type: str, location: str, sku: str) -> str:
    return f"{alert_type}:{location}:{sku}"


def _days_to_stockout(p: Position) -> float | None:
    if p.projected_stockout_date is None:
        return None
    return float((p.projected_stockout_date - p.as_of.date()).days)


def _stockout(p: Position, cfg: AlertConfig, cost: float) -> Condition:
    clear_level = max(p.daily_demand, 1e-9)  # one day of demand back on the shelf, not one unit
    return Condition("stockout", p.on_hand <= 0, p.on_hand >= clear_level, "critical",
                     f"{p.sku} is out of stock at {p.location}", p.daily_demand * p.lead_time_days * cost,
                     {"on_hand": p.on_hand, "rule": "on_hand ≤ 0; resolves at ≥ 1 day of demand"})


def _stockout_risk(p: Position, cfg: AlertConfig, cost: float) -> Condition:
    days = _days_to_stockout(p)
    lead = p.lead_time_days
    on = p.on_hand > 0 and days is not None and days < lead
    clear = p.on_hand <= 0 or days is None or days >= lead * (1 + cfg.hysteresis)
    short_days = max(lead - (days if days is not None else lead), 0.0)
    var = short_days * p.daily_demand * cost
    severe = days is not None and (days <= lead / 2 or var >= cfg.critical_value)
    return Condition("stockout_risk", on, clear, "critical" if severe else "warning",
                     f"{p.sku} at {p.location} runs out in {_n(days or 0)} days, lead time {_n(lead)} days",
                     var, {"days_to_stockout": days, "lead_time_days": lead,
                           "value_at_risk": f"{_n(short_days)} days × {_n(p.daily_demand)}/day × {_n(cost)}"})


def _below_safety(p: Position, cfg: AlertConfig, cost: float) -> Condition:
    ss = p.safety_stock
    gap = max(ss - p.on_hand, 0.0)
    return Condition("below_safety_stock", 0 < p.on_hand < ss, p.on_hand >= ss * (1 + cfg.hysteresis),
                     "warning" if gap * cost >= cfg.critical_value / 10 else "info",
                     f"{p.sku} at {p.location}: on hand {_n(p.on_hand)} below safety stock {_n(ss)}",
                     gap * cost, {"on_hand": p.on_hand, "safety_stock": ss})


def _overstock(p: Position, cfg: AlertConfig, cost: float) -> Condition:
    limit = p.order_up_to + cfg.overstock_days * p.daily_demand
    excess = max(p.inventory_position - limit, 0.0)
    clear_limit = p.order_up_to + cfg.overstock_days * p.daily_demand * (1 - cfg.hysteresis)
    return Condition("overstock", p.inventory_position > limit, p.inventory_position <= clear_limit,
                     "warning" if excess * cost >= cfg.critical_value else "info",
                     f"{p.sku} at {p.location}: position {_n(p.inventory_position)} above {_n(limit)}",
                     excess * cost, {"limit": f"S + {_n(cfg.overstock_days)}·D = {_n(limit)}"})


def _dead_stock(p: Position, cfg: AlertConfig, cost: float, last_sale_at: datetime | None) -> Condition:
    idle = None if last_sale_at is None else (p.as_of - last_sale_at).days
    on = p.on_hand > 0 and idle is not None and idle >= cfg.dead_stock_days
    return Condition("dead_stock", on, p.on_hand <= 0 or (idle is not None and idle < cfg.dead_stock_days),
                     "warning", f"{p.sku} at {p.location}: no sales for {idle} days", p.on_hand * cost,
                     {"days_since_last_sale": idle, "threshold_days": cfg.dead_stock_days})


def conditions(p: Position, cfg: AlertConfig, unit_cost: float | None,
               last_sale_at: datetime | None) -> list[Condition]:
    cost = unit_cost or 0.0
    return [_stockout(p, cfg, cost), _stockout_risk(p, cfg, cost), _below_safety(p, cfg, cost),
            _overstock(p, cfg, cost), _dead_stock(p, cfg, cost, last_sale_at)]


def _transition(c: Condition, prev: AlertState | None, forced: bool, as_of: datetime) -> str | None:
    """'fire', 'escalate', 'resolve' or None; a firing alert only resolves once clearly off.

    No fire after a resolve (or resolve after a fire) at the same event time: the same moment re-decided on
    inputs that arrived later (a forecast after the first decision on sales history) must not flap.
    """
    firing = prev is not None and prev.status == "firing"
    same_moment = prev is not None and prev.since == as_of
    if not firing:
        return "fire" if (c.on or forced) and not same_moment else None
    if c.clear and not forced:
        return None if same_moment else "resolve"
    if SEVERITY_RANK[c.severity] > SEVERITY_RANK[prev.severity]:
        return "escalate"
    return None


def evaluate_alerts(position: Position, previous: dict[str, AlertState], *, config: AlertConfig | None = None,
                    unit_cost: float | None = None, last_sale_at: datetime | None = None,
                    supplier_id: str | None = None, receivers: tuple[str, ...] = (),
                    forced_types: tuple[str, ...] = ()) -> list[AlertDecision]:
    """Alert changes for one position; store `decision.state()` under `decision.key` for next time."""
    cfg = config or AlertConfig()
    out = []
    for c in conditions(position, cfg, unit_cost, last_sale_at):
        key = alert_key(c.type, position.location, position.sku)
        prev = previous.get(key)
        step = _transition(c, prev, c.type in forced_types, position.as_of)
        if step is None:
            continue
        severity = prev.severity if step == "resolve" and prev else c.severity
        labels = {"receiver": receivers[0], "receivers": ",".join(receivers)} if receivers else {}
        out.append(AlertDecision(
            key=key, type=c.type, severity=severity, status="resolved" if step == "resolve" else "firing",
            sku=position.sku, location=position.location, summary=c.summary, occurred_at=position.as_of,
            explanation={**c.explanation, "transition": step}, value_at_risk=c.value_at_risk,
            supplier_id=supplier_id, labels=labels))
    return out
