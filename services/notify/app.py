"""Composition root of the notify service: alert consumer, dispatcher task, alert and silence API."""
from __future__ import annotations

from fastapi import FastAPI

from services.notify import models, routes
from services.notify.consumers import TOPICS, make_dispatch
from services.notify.dispatcher import Dispatcher
from services.notify.reload import ConfigSource
from services.notify.settings import NotifySettings
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def create_app(settings: ServiceSettings | None = None, notify_settings: NotifySettings | None = None) -> FastAPI:
    """Build the app; an invalid REPLENISH_CONFIG raises ConfigError here, so the service never starts on it."""
    settings = settings or load_settings("notify")
    config = ConfigSource(settings.config_path)
    runtime = ServiceRuntime(settings, models.metadata)
    dispatcher = Dispatcher(runtime, notify_settings or NotifySettings(), config)
    runtime.consumers.append(ConsumerSpec("alerts", TOPICS, make_dispatch(dispatcher.wake.set), batch_size=200))
    runtime.tasks.append(dispatcher.run)
    app = build_app(runtime, title="Replenish notify", routers=[routes.router])
    app.state.dispatcher = dispatcher
    return app
