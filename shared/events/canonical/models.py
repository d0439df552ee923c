"""One pydantic model per §3 event type, and the validated CanonicalEvent."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.events.canonical.fields import (
    AliasList,
    Code,
    ConversionMap,
    Country,
    DayOrInstant,
    Email,
    Flag,
    Fraction,
    Instant,
    NonNegative,
    Positive,
    Quantity,
    Text,
    TimeZone,
    Unit,
)


class _Data(BaseModel):
    # Unknown fields are ignored rather than rejected: feeds carry extra columns, and a typo in a required
    # field still surfaces as "required".
    model_config = ConfigDict(extra="ignore", frozen=True)


class SaleData(_Data):
    sku: Code
    location: Code
    quantity: Positive
    unit: Unit | None = None
    unit_price: NonNegative | None = None
    channel: Code | None = None
    order_id: Code | None = None


class ReturnData(_Data):
    sku: Code
    location: Code
    quantity: Positive
    unit: Unit | None = None


class StockCountData(_Data):
    sku: Code
    location: Code
    on_hand: NonNegative
    unit: Unit | None = None


class StockAdjustmentData(_Data):
    sku: Code
    location: Code
    quantity: Quantity
    reason: Literal["receipt", "scrap", "damage", "correction", "transfer_in", "transfer_out"]
    po_id: Code | None = None
    unit: Unit | None = None


class ItemData(_Data):
    sku: Code
    name: Text
    base_unit: Unit
    category: Text | None = None
    unit_conversions: ConversionMap | None = None
    aliases: AliasList | None = None
    unit_cost: NonNegative | None = None
    unit_price: NonNegative | None = None
    status: Literal["active", "discontinued"] | None = None
    launch_date: DayOrInstant | None = None
    like_sku: Code | None = None


class LocationData(_Data):
    location: Code
    name: Text
    kind: Literal["store", "warehouse", "online"]
    timezone: TimeZone = "UTC"
    country: Country | None = None
    subdivision: Text | None = None


class LaneData(_Data):
    from_location: Code
    to_location: Code
    lead_time_days: NonNegative
    unit_cost: NonNegative | None = None


class SupplierData(_Data):
    supplier_id: Code
    name: Text
    email: Email | None = None
    phone: Text | None = None
    chat: Text | None = None


class SupplierItemData(_Data):
    supplier_id: Code
    sku: Code
    lead_time_days: NonNegative
    lead_time_std_days: NonNegative | None = None
    moq: NonNegative | None = None
    pack_size: Positive | None = None
    unit_cost: NonNegative | None = None
    primary: Flag | None = None


class PromotionData(_Data):
    sku: Code
    location: Code | None = None
    start: DayOrInstant
    end: DayOrInstant
    kind: Text | None = None
    expected_uplift: Quantity | None = None


class PolicyData(_Data):
    sku: Code | None = None
    category: Text | None = None
    location: Code | None = None
    service_level: Fraction | None = None
    fill_rate: Fraction | None = None
    review_days: NonNegative | None = None
    min: NonNegative | None = None
    max: NonNegative | None = None
    safety_days: NonNegative | None = None
    fixed_order_cost: NonNegative | None = None
    holding_rate: NonNegative | None = None


class DayCloseData(_Data):
    """The location's business day `date` is closed: no event with a time in that day follows (日结)."""

    location: Code
    date: DayOrInstant


EventData = (SaleData | ReturnData | StockCountData | StockAdjustmentData | ItemData | LocationData | LaneData
             | SupplierData | SupplierItemData | PromotionData | PolicyData | DayCloseData)
EventType = Literal["sale", "return", "stock_count", "stock_adjustment", "item", "location", "lane",
                    "supplier", "supplier_item", "promotion", "policy", "day_close"]
DATA_MODELS: dict[str, type[_Data]] = {
    "sale": SaleData, "return": ReturnData, "stock_count": StockCountData,
    "stock_adjustment": StockAdjustmentData, "item": ItemData, "location": LocationData, "lane": LaneData,
    "supplier": SupplierData, "supplier_item": SupplierItemData, "promotion": PromotionData,
    "policy": PolicyData, "day_close": DayCloseData,
}
EVENT_TYPES = tuple(DATA_MODELS)
MASTER_TYPES = ("item", "location", "lane", "supplier", "supplier_item", "policy")


class CanonicalEvent(BaseModel):
    """A valid §3 event: codes trimmed and NFKC-normalized, units case-folded, `time` in UTC."""

    model_config = ConfigDict(frozen=True)

    id: Code
    source: Code
    type: EventType
    time: Instant
    data: EventData
    subject: str | None = None


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Code
    source: Code
    time: Instant


