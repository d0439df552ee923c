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
from shared.bus.types import EventTypes
from shared.clock import Clock
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import DAY_CLOSED
from shared.service import ConsumerSpec

STOCK_TYPES = ("replenish.ingest.stock_adjustment", "replenish.ingest.stock_count")
MASTER_TYPES = ("replenish.ingest.supplier", "replenish.ingest.supplier_item", "replenish.ingest.location")
# Every type on orders' topics: handled below, or master data orders has no use for; any other is dead-lettered.
EVENT_TYPES = EventTypes(
    handles={"replenish.policy.reorder", *STOCK_TYPES, *MASTER_TYPES, DELIVERY_TYPE, DAY_CLOSED},
    skips={"replenish.ingest.item", "replenish.ingest.lane", "replenish.ingest.policy"})


def make_dispatch(cfg: OrdersSettings, clock: Clock):
    """Event type -> handler (the consumer loop lets only EVENT_TYPES.handles through)."""

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
    return [ConsumerSpec("events", TOPICS, make_dispatch(cfg, clock), batch_size=200, types=EVENT_TYPES)]
