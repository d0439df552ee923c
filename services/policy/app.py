"""Composition root of the policy service."""
from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI

from services.policy import decider, kpi_routes, models, routes, segmenter
from services.policy.batch import apply_batch
from services.policy.handlers import HANDLERS, TOPICS
from shared.bus.types import EventTypes
from shared.clock import clock_mode
from shared.events.markers import DAY_CLOSED, decided_through
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings

# Every type on policy's topics: handled (HANDLERS; day markers close days), or orders' PO email requests,
# which share the purchase-orders topic; any other type is dead-lettered.
EVENT_TYPES = EventTypes(handles={*HANDLERS, DAY_CLOSED}, skips={"replenish.orders.po_email"})


def policy_consumers() -> list[ConsumerSpec]:
    """One consumer for every input topic, polled often (the alert path): master data, promotions and POs
    fetched with the sales and stock they belong to, so a key is rarely decided before its supplier item is
    known. (A separate, slowly polled consumer for them let decisions run on partial master data.)"""
    return [ConsumerSpec("events", TOPICS, None, batch_size=500, batch_handler=apply_batch, urgent=True,
                         types=EVENT_TYPES)]


async def _decided_through(runtime: ServiceRuntime) -> datetime | None:
    async with runtime.sessionmaker() as session:
        return await decided_through(session, models.decided_days)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings("policy")
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers += policy_consumers()
    if clock_mode() == "event":
        # decisions come from closed days (closing.py), never from the wall-clock lanes; segments are not
        # recomputed on the wall clock either (a replay could not reproduce them)
        runtime.decided_through = _decided_through
    else:
        runtime.tasks.append(decider.run)
        runtime.tasks.append(segmenter.run)
    return build_app(runtime, title="Replenish policy", routers=[routes.router, kpi_routes.router])
