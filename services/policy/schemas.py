"""Policy's response models (typed OpenAPI): the §4 position, its explanation answer, reorders, rules."""
from __future__ import annotations

from typing import Any

from shared.http.schemas import Open


class Position(Open):
    """docs/contract.md §4; quantities in base units, dates and times as ISO 8601 text."""

    sku: str
    location: str
    on_hand: float | None = None
    on_order: float | None = None
    backorder: float | None = None
    inventory_position: float | None = None
    daily_demand: float | None = None
    demand_std: float | None = None
    lead_time_days: float | None = None
    lead_time_std_days: float | None = None
    service_level: float | None = None
    safety_stock: float | None = None
    reorder_point: float | None = None
    order_up_to: float | None = None
    days_of_cover: float | None = None
    projected_stockout_date: str | None = None
    status: str | None = None
    as_of: str | None = None
    explanation: dict[str, Any] = {}


class Reorder(Open):
    reorder_id: str
    kind: str | None = None
    sku: str
    location: str
    quantity: float
    status: str
    po_id: str | None = None


class Segment(Open):
    abc: str
    xyz: str
    pattern: str
    annual_value: float


class Explain(Open):
    """Why it did (or did not) reorder: the decision, its inputs and formulas, the last reorder and segment."""

    location: str
    sku: str
    as_of: str | None = None
    status: str | None = None
    reordered: bool
    answer: str | None = None
    decision: dict[str, Any]
    explanation: dict[str, Any]
    last_reorder: Reorder | None = None
    segment: Segment | None = None


class RuleSet(Open):
    version: int
    rules: list[dict[str, Any]]
