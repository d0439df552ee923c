"""Orders' consumer: reorders, stock receipts and supplier master data, one loop so one key stays ordered."""
from __future__ import annotations

from services.orders.handlers import TOPICS, make_dispatch
from services.orders.settings import OrdersSettings
from shared.service import ConsumerSpec


def consumer_specs(cfg: OrdersSettings) -> list[ConsumerSpec]:
    return [ConsumerSpec("events", TOPICS, make_dispatch(cfg), batch_size=200)]
