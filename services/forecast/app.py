"""Composition root of the forecast service."""
from __future__ import annotations

from fastapi import FastAPI

from services.forecast import models, routes
from services.forecast.consumers import TOPICS, apply_batch
from services.forecast.scheduler import Forecaster
from services.forecast.settings import ForecastSettings
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings("forecast")
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.append(ConsumerSpec("history", TOPICS, None, batch_handler=apply_batch))
    forecaster = Forecaster(runtime, ForecastSettings())
    runtime.tasks.append(forecaster.run)
    return build_app(runtime, title="Replenish forecast", routers=[routes.router])
