"""Topic names of docs/contract.md §7 and the pydantic model of each topic's `data`."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

INGEST_RAW = "replenish.ingest.raw.v1"
SALES = "replenish.ingest.sales.v1"
STOCK = "replenish.ingest.stock.v1"
MASTER = "replenish.ingest.master.v1"
PROMOTIONS = "replenish.ingest.promotions.v1"
INGEST_ALERTS = "replenish.ingest.alerts.v1"
POLICY_ALERTS = "replenish.policy.alerts.v1"
ORDERS_ALERTS = "replenish.orders.alerts.v1"
DEMAND = "replenish.forecast.demand.v1"
REORDERS = "replenish.policy.reorder.v1"
PURCHASE_ORDERS = "replenish.orders.purchase-orders.v1"
DELIVERIES = "replenish.notify.deliveries.v1"

ALL_TOPICS = (INGEST_RAW, SALES, STOCK, MASTER, PROMOTIONS, INGEST_ALERTS, POLICY_ALERTS, ORDERS_ALERTS,
              DEMAND, REORDERS, PURCHASE_ORDERS, DELIVERIES)
ALERT_TOPICS = (INGEST_ALERTS, POLICY_ALERTS, ORDERS_ALERTS)


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class SaleRecorded(_Payload):
    """A sale or return in base units (topic sales)."""

    event_id: str
    source: str
    type: Literal["sale", "return"]
    sku: str
    location: str
    quantity: float = Field(gt=0)
    time: datetime
    unit_price: float | None = None
    channel: str | None = None
    order_id: str | None = None


class StockChanged(_Payload):
    """An absolute count or a signed adjustment in base units (topic stock)."""

    event_id: str
    source: str
    type: Literal["stock_count", "stock_adjustment"]
    sku: str
    location: str
    time: datetime
    on_hand: float | None = None
    quantity: float | None = None
    reason: str | None = None
    po_id: str | None = None


class MasterDataChanged(_Payload):
    """Item, location, lane, supplier, supplier_item or policy master data (topic master)."""

    type: Literal["item", "location", "lane", "supplier", "supplier_item", "policy"]
    time: datetime
    data: dict[str, Any]


class PromotionPlanned(_Payload):
    sku: str
    location: str | None = None
    start: date
    end: date
    kind: str | None = None
    expected_uplift: float | None = None


class AlertRaised(_Payload):
    """One alert schema for the ingest, policy and orders alert topics."""

    key: str
    type: Literal["stockout_risk", "below_safety_stock", "stockout", "overstock", "dead_stock", "po_late",
                  "supplier_unresponsive", "feed_stale", "decision_failed"]
    severity: Literal["info", "warning", "critical"]
    status: Literal["firing", "resolved"]
    summary: str
    explanation: dict[str, Any] = Field(default_factory=dict)
    sku: str | None = None
    location: str | None = None
    supplier_id: str | None = None
    category: str | None = None
    po_id: str | None = None
    value_at_risk: float | None = None
    occurred_at: datetime
    labels: dict[str, str] = Field(default_factory=dict)


class ForecastPoint(_Payload):
    date: date
    mean: float = Field(ge=0)
    p10: float = Field(ge=0)
    p50: float = Field(ge=0)
    p90: float = Field(ge=0)


class DemandForecast(_Payload):
    sku: str
    location: str
    model: str
    demand_class: str | None = None
    as_of: date
    generated_at: datetime
    horizon: list[ForecastPoint]
    residual_std: float | None = None
    residual_std_regular: float | None = None  # σ on days without a promotion (extension, docs/contract.md)
    residual_std_promo: float | None = None  # σ on promotion days
    accuracy: dict[str, float | None] = Field(default_factory=dict)
    low_confidence: bool = False


class ReorderDecided(_Payload):
    reorder_id: str
    kind: Literal["purchase", "transfer"]
    sku: str
    location: str
    quantity: float = Field(gt=0)
    need_by: date
    decided_at: datetime
    supplier_id: str | None = None
    from_location: str | None = None
    unit_cost: float | None = None
    requires_approval: bool = False
    explanation: dict[str, Any] = Field(default_factory=dict)


class PurchaseOrderLine(_Payload):
    sku: str
    location: str
    quantity: float
    unit_cost: float | None = None
    received_quantity: float = 0
    reorder_id: str | None = None


class PurchaseOrderChanged(_Payload):
    """The full PO snapshot after every change."""

    po_id: str
    supplier_id: str
    status: str
    lines: list[PurchaseOrderLine]
    total: float
    created_at: datetime
    sent_at: datetime | None = None
    expected_date: date | None = None
    promised_date: date | None = None
    eta: date | None = None
    received_at: datetime | None = None
    reason: str | None = None


class DeliveryRecorded(_Payload):
    """One delivery outcome: of an alert notification, or of a PO sent by email (kind po_email)."""

    kind: Literal["alert", "po_email"] = "alert"
    alert_id: str
    alert_key: str
    revision: int
    receiver: str
    channel: str
    status: Literal["sent", "failed", "suppressed"]
    attempts: int
    at: datetime
    idempotency_key: str
    po_id: str | None = None
    reason: str | None = None


TOPIC_MODELS: dict[str, type[BaseModel]] = {
    SALES: SaleRecorded, STOCK: StockChanged, MASTER: MasterDataChanged, PROMOTIONS: PromotionPlanned,
    INGEST_ALERTS: AlertRaised, POLICY_ALERTS: AlertRaised, ORDERS_ALERTS: AlertRaised, DEMAND: DemandForecast,
    REORDERS: ReorderDecided, PURCHASE_ORDERS: PurchaseOrderChanged, DELIVERIES: DeliveryRecorded,
}
