"""Composition root of the ingest service."""
from __future__ import annotations

from fastapi import FastAPI

from services.ingest import models, routes
from services.ingest.consumers import decode_raw, make_raw_handler
from services.ingest.freshness import watch_freshness
from services.ingest.handlers import MasterCache
from shared.events.topics import INGEST_RAW
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or load_settings("ingest")
    cache = MasterCache()
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.append(ConsumerSpec("raw", [INGEST_RAW], make_raw_handler(cache), decoder=decode_raw))
    runtime.tasks.append(watch_freshness)
    app = build_app(runtime, title="Replenish ingest", routers=[routes.router])
    app.state.master_cache = cache
    return app
