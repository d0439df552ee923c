"""Composition root of the policy service."""
from __future__ import annotations

from fastapi import FastAPI

from services.policy import decider, models, routes, segmenter
from services.policy.batch import apply_batch
from services.policy.handlers import TOPICS
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def policy_consumer() -> ConsumerSpec:
    """One consumer for every input topic, so one key's events are applied in order."""
    return ConsumerSpec("events", TOPICS, None, batch_size=500, batch_handler=apply_batch)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings("policy")
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.append(policy_consumer())
    runtime.tasks.append(decider.run)
    runtime.tasks.append(segmenter.run)
    return build_app(runtime, title="Replenish policy", routers=[routes.router])
