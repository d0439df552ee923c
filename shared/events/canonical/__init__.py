"""Input events of docs/contract.md §3 as pydantic models, and `validate_event`, the never-raising gate of ingest."""
from shared.events.canonical.fields import (
                                            ADJUSTMENT_REASONS,
                                            MAX_CODE_LENGTH,
                                            MAX_FUTURE,
                                            MAX_LIST_LENGTH,
                                            MAX_QUANTITY,
                                            MAX_TEXT_LENGTH,
                                            lenient_types,
                                            unit_name,
)
from shared.events.canonical.models import (
                                            DATA_MODELS,
                                            EVENT_TYPES,
                                            MASTER_TYPES,
                                            CanonicalEvent,
                                            EventData,
                                            EventType,
                                            ItemData,
                                            LaneData,
                                            LocationData,
                                            PolicyData,
                                            PromotionData,
                                            ReturnData,
                                            SaleData,
                                            StockAdjustmentData,
                                            StockCountData,
                                            SupplierData,
                                            SupplierItemData,
)
from shared.events.canonical.validate import plain_movement, validate_event

__all__ = ["ADJUSTMENT_REASONS", "DATA_MODELS", "EVENT_TYPES", "MASTER_TYPES", "MAX_CODE_LENGTH", "MAX_FUTURE",
           "MAX_LIST_LENGTH", "MAX_QUANTITY", "MAX_TEXT_LENGTH", "CanonicalEvent", "EventData", "EventType",
           "ItemData", "LaneData", "LocationData", "PolicyData", "PromotionData", "ReturnData", "SaleData",
           "StockAdjustmentData", "StockCountData", "SupplierData", "SupplierItemData",
           "lenient_types", "plain_movement", "unit_name", "validate_event"]
