"""Composition root of the forecast service."""
from __future__ import annotations

from fastapi import FastAPI

from services.forecast import kpi_routes, models, routes
from services.forecast.closing import forecast_decided_through
from services.forecast.consumers import history_consumer
from services.forecast.day_close import DayCloser
from services.forecast.scheduler import Forecaster
from services.forecast.settings import ForecastSettings
from shared.clock import Clock
from shared.http.app import build_app
from shared.service import ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def create_app(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings("forecast")
    clock = clock or Clock.from_env()
    runtime = ServiceRuntime(settings, models.metadata, decided_through=forecast_decided_through)
    runtime.consumers.append(history_consumer(event_clock=clock.is_event))
    forecaster = Forecaster(runtime, ForecastSettings())
    runtime.tasks.append(DayCloser(forecaster).run if clock.is_event else forecaster.run)
    return build_app(runtime, title="Replenish forecast", routers=[routes.router, kpi_routes.router])
