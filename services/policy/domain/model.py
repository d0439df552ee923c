"""Plain value objects of the policy domain: parameters, demand, stock, positions and decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np

ReviewMode = Literal["continuous", "periodic"]
ServiceMetric = Literal["cycle", "fill"]
Status = Literal["stockout", "critical", "watch", "overstock", "ok"]


@dataclass(frozen=True)
class PolicyParams:
    """Resolved policy for one SKU-location, after segment defaults, rules and overrides."""

    lead_time_days: float
    lead_time_std_days: float = 0.0
    service_level: float = 0.95
    service_metric: ServiceMetric = "cycle"
    review_days: float = 7.0
    review_mode: ReviewMode = "continuous"
    moq: float = 0.0
    pack_size: float = 1.0
    max_qty: float | None = None
    min_level: float | None = None
    max_level: float | None = None
    safety_days: float | None = None
    fixed_order_cost: float | None = None
    holding_rate: float | None = None
    unit_cost: float | None = None
    overstock_days: float = 30.0
    # the protection-period demand's shape for fill-rate targets (normal | gamma | auto: gamma when CV > 0.5)
    # and whether unmet demand is lost (a store) rather than back-ordered, which changes what a fill rate costs
    distribution: str = "normal"
    lost_sales: bool = False
    do_not_stock: bool = False
    require_approval: bool = False
    force_reorder: bool = False
    applied_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemandView:
    """Demand seen by the policy: from the latest forecast, or a fallback from observed sales."""

    daily_mean: float
    daily_std: float
    source: str = "history"
    horizon_means: np.ndarray | None = None
    horizon_promo: np.ndarray | None = None  # days the forecast already lifted for a promotion (bool, per mean)
    # the forecast's σ on days without and with a promotion: a protection period is spread by its own days
    # (position.spread_over_protection); None: daily_std for every day
    regular_std: float | None = None
    promo_std: float | None = None


@dataclass(frozen=True)
class Stock:
    """Stock state of one SKU-location; arrivals are (date, quantity) of open POs when known."""

    on_hand: float
    on_order: float = 0.0
    backorder: float = 0.0
    arrivals: tuple[tuple[date, float], ...] = ()

    @property
    def inventory_position(self) -> float:
        return self.on_hand + self.on_order - self.backorder


@dataclass(frozen=True)
class Position:
    """Read model of docs/contract.md §4 for one SKU-location."""

    sku: str
    location: str
    on_hand: float
    on_order: float
    backorder: float
    inventory_position: float
    daily_demand: float
    demand_std: float
    lead_time_days: float
    lead_time_std_days: float
    service_level: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    days_of_cover: float | None
    projected_stockout_date: date | None
    status: Status
    as_of: datetime
    explanation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["as_of"] = self.as_of.isoformat()
        out["projected_stockout_date"] = (
            self.projected_stockout_date.isoformat() if self.projected_stockout_date else None
        )
        return out


@dataclass(frozen=True)
class ReorderDecision:
    """A decision to order: payload of `replenish.policy.reorder.v1` minus the envelope."""

    reorder_id: str
    kind: Literal["purchase", "transfer"]
    sku: str
    location: str
    quantity: float
    need_by: date
    decided_at: datetime
    supplier_id: str | None = None
    from_location: str | None = None
    unit_cost: float | None = None
    requires_approval: bool = False
    explanation: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertState:
    """What the caller remembers of one alert key between evaluations."""

    status: Literal["firing", "resolved"]
    severity: Literal["info", "warning", "critical"]
    since: datetime


@dataclass(frozen=True)
class AlertDecision:
    """A change to publish on `replenish.policy.alerts.v1` (fire, re-grade or resolve)."""

    key: str
    type: str
    severity: Literal["info", "warning", "critical"]
    status: Literal["firing", "resolved"]
    sku: str
    location: str
    summary: str
    occurred_at: datetime
    explanation: dict[str, Any] = field(default_factory=dict)
    value_at_risk: float | None = None
    supplier_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def state(self) -> AlertState:
        return AlertState(status=self.status, severity=self.severity, since=self.occurred_at)
