"""Orders' consumer: reorders and their day markers, stock events, master data and delivery outcomes, one loop
so one key stays ordered."""
from __future__ import annotations

from services.orders.closing import on_day_closed
from services.orders.handlers import (
    DELIVERY_TYPE,
    TOPICS,
    on_delivery_outcome,
    on_master,
    on_reorder,
    on_stock,
)
from services.orders.settings import OrdersSettings
from shared.clock import Clock
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import DAY_CLOSED
from shared.service import ConsumerSpec

STOCK_TYPES = ("replenish.ingest.stock_adjustment", "replenish.ingest.stock_count")
MASTER_TYPES = ("replenish.ingest.supplier", "replenish.ingest.supplier_item", "replenish.ingest.location")


def make_dispatch(cfg: OrdersSettings, clock: Clock):
    """Event type -> handler; any other type (an ingest sale, a future event) is left alone."""

    async def dispatch(uow: UnitOfWork, env: Envelope) -> None:
        if env.type == "replenish.policy.reorder":
            await on_reorder(uow, env, cfg, clock)
        elif env.type in STOCK_TYPES:
            await on_stock(uow, env, clock)
        elif env.type in MASTER_TYPES:
            await on_master(uow, env)
        elif env.type == DELIVERY_TYPE:
            await on_delivery_outcome(uow, env, clock)
        elif env.type == DAY_CLOSED:
            await on_day_closed(uow, env, cfg, clock)

    return dispatch


def consumer_specs(cfg: OrdersSettings, clock: Clock) -> list[ConsumerSpec]:
    return [ConsumerSpec("events", TOPICS, make_dispatch(cfg, clock), batch_size=200)]
