"""Composition root of the policy service."""
from __future__ import annotations

from fastapi import FastAPI

from services.policy import decider, models, routes, segmenter
from services.policy.handlers import TOPICS, dispatch
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings("policy")
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.append(ConsumerSpec("events", TOPICS, dispatch, batch_size=200))
    runtime.tasks.append(decider.run)
    runtime.tasks.append(segmenter.run)
    return build_app(runtime, title="Replenish policy", routers=[routes.router])
