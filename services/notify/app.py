"""Composition root of the notify service: alert and PO email consumers, dispatcher and mailer tasks, API."""
from __future__ import annotations

from fastapi import FastAPI

from services.notify import kpi_routes, link_routes, models, routes
from services.notify.alert_batch import make_alert_batch
from services.notify.consumers import ALERT_TYPES, PO_EMAIL_TYPES, PO_TOPICS, TOPICS, make_po_email
from services.notify.dispatcher import Dispatcher
from services.notify.po_email import PoMailer
from services.notify.reload import ConfigSource
from services.notify.settings import NotifySettings
from shared.http.app import build_app
from shared.http.ratelimit import RateLimit
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def create_app(settings: ServiceSettings | None = None, notify_settings: NotifySettings | None = None) -> FastAPI:
    """Build the app; an invalid REPLENISH_CONFIG raises ConfigError here, so the service never starts on it."""
    settings = settings or load_settings("notify")
    notify_settings = notify_settings or NotifySettings()
    config = ConfigSource(settings.config_path)
    runtime = ServiceRuntime(settings, models.metadata)
    dispatcher = Dispatcher(runtime, notify_settings, config)
    mailer = PoMailer(runtime, notify_settings, config)
    # A polled burst of alerts (a policy decider pass emits many) is stored with one read and one upsert.
    runtime.consumers.append(ConsumerSpec(
        "alerts", TOPICS, None, batch_size=200, urgent=True, types=ALERT_TYPES,
        batch_handler=make_alert_batch(dispatcher.wake.set, lambda: config.current.flap_window)))
    runtime.consumers.append(ConsumerSpec(
        "po-emails", PO_TOPICS, make_po_email(mailer.wake.set, lambda: config.current.po_email), batch_size=100,
        types=PO_EMAIL_TYPES))
    runtime.tasks += [dispatcher.run, mailer.run]
    app = build_app(runtime, title="Replenish notify", routers=[routes.router, link_routes.router, kpi_routes.router])
    app.state.dispatcher = dispatcher
    # Per client address; the console's own address counts as one client for everyone it serves.
    app.state.link_rate = RateLimit(notify_settings.link_rate_per_min)
    return app
