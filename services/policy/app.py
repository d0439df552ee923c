"""Composition root of the policy service."""
from __future__ import annotations

from fastapi import FastAPI

from services.policy import decider, models, routes, segmenter
from services.policy.batch import apply_batch
from services.policy.handlers import MOVEMENT_TOPICS, SLOW_TOPICS
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def policy_consumers() -> list[ConsumerSpec]:
    """Sales and stock (the alert path, polled often) apart from master data, promotions, forecasts and POs,
    which change slowly. A key's events meet only in the database: the decider decides once they are quiet."""
    return [ConsumerSpec("events", MOVEMENT_TOPICS, None, batch_size=500, batch_handler=apply_batch, urgent=True),
            ConsumerSpec("inputs", SLOW_TOPICS, None, batch_size=200, batch_handler=apply_batch)]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings("policy")
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers += policy_consumers()
    runtime.tasks.append(decider.run)
    runtime.tasks.append(segmenter.run)
    return build_app(runtime, title="Replenish policy", routers=[routes.router])
