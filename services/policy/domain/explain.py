"""Explanations: the inputs and the formulas, with numbers filled in, behind positions and reorders."""

from __future__ import annotations

from typing import Any

from .model import DemandView, PolicyParams, Stock
from .pooling import SharedFactor
from .targets import Targets


def _n(x: float) -> str:
    return f"{float(x):.4g}"


def _safety_formula(demand: DemandView, params: PolicyParams, t: Targets) -> str:
    if params.do_not_stock:
        return "SS = 0 (do not stock)"
    if params.safety_days is not None:
        return f"SS = safety_days·D = {_n(params.safety_days)}·{_n(demand.daily_mean)} = {_n(t.safety_stock)}"
    factor = "k (fill rate, G(k) = (1-β)·Q/σ)" if params.service_metric == "fill" else "z"
    return (
        f"SS = {factor}·√(T·σ_D² + D²·σ_L²) = {_n(t.k)}·√({_n(t.protection_days)}·{_n(demand.daily_std)}² + "
        f"{_n(demand.daily_mean)}²·{_n(params.lead_time_std_days)}²) = {_n(t.safety_stock)}"
    )


def _spread_formula(demand: DemandView, t: Targets) -> dict[str, str]:
    if demand.regular_std is None:
        return {}
    promo = "σ_D" if demand.promo_std is None else _n(demand.promo_std)
    return {"demand_std": f"σ_D = √(((T − P)·σ_regular² + P·σ_promo²)/T) over P promotion days of T = "
                          f"{_n(t.protection_days)}, σ_regular {_n(demand.regular_std)}, σ_promo {promo}: "
                          f"{_n(demand.daily_std)}"}


def _level_formulas(params: PolicyParams, t: Targets, levels: tuple[float, float, float]) -> dict[str, str]:
    ss, rop, up_to = levels
    if params.min_level is not None:
        rop_f = f"ROP = planner min = {_n(rop)}"
    elif params.review_mode == "periodic":
        rop_f = f"ROP = D·L + SS = {_n(rop)}"
    else:
        rop_f = f"ROP = demand over T + SS = {_n(t.protection_mean)} + {_n(ss)} = {_n(rop)}"
    if params.max_level is not None:
        s_f = f"S = planner max = {_n(up_to)}"
    elif params.review_mode == "periodic":
        s_f = f"S = demand over L+R + SS = {_n(t.protection_mean)} + {_n(ss)} = {_n(up_to)}"
    else:
        s_f = f"S = ROP + Q = {_n(rop)} + {_n(t.cycle_qty)} = {_n(up_to)}"
    return {"reorder_point": rop_f, "order_up_to": s_f}


def explain_position(stock: Stock, demand: DemandView, params: PolicyParams, targets: Targets,
                     levels: tuple[float, float, float], status: str, pool: tuple[float, bool] | None = None,
                     shared: SharedFactor | None = None, floor: float | None = None) -> dict[str, Any]:
    out = {
        "inputs": {
            "on_hand": stock.on_hand, "on_order": stock.on_order, "backorder": stock.backorder,
            "daily_demand": demand.daily_mean, "demand_std": demand.daily_std, "demand_source": demand.source,
            "demand_std_regular": demand.regular_std, "demand_std_promo": demand.promo_std,
            "lead_time_days": params.lead_time_days, "lead_time_std_days": params.lead_time_std_days,
            "review_days": params.review_days, "review_mode": params.review_mode,
            "service_level": params.service_level, "service_metric": params.service_metric,
            "protection_days": float(targets.protection_days), "applied_rules": list(params.applied_rules),
        },
        "formulas": {
            "inventory_position": (
                f"IP = on_hand + on_order - backorder = {_n(stock.on_hand)} + {_n(stock.on_order)} - "
                f"{_n(stock.backorder)} = {_n(stock.inventory_position)}"
            ),
            **_spread_formula(demand, targets),
            "safety_stock": _safety_formula(demand, params, targets),
            **_level_formulas(params, targets, levels),
        },
        "status": status,
    }
    if pool is not None:  # what the location's shared factor is solved from (pooling.py)
        out["pool"] = {"target": pool[0], "lost_sales": pool[1], "sigma": float(targets.protection_sigma),
                       "cycle": float(targets.cycle_qty), "floor": floor}
    if shared is not None:
        out["formulas"]["k"] = (f"k = max(location's shared k {_n(shared.k)}, floor at β − {_n(shared.floor_gap)}) "
                                f"= {_n(targets.k)}")
    return out
