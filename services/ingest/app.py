"""Composition root of the ingest service."""
from __future__ import annotations

from fastapi import FastAPI

from services.ingest import models, quarantine, routes
from services.ingest.consumers import decode_raw, make_raw_handler
from services.ingest.freshness import Clock, Watermark, make_watcher, wall_clock
from services.ingest.handlers import MasterCache
from shared.events.topics import INGEST_RAW
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings


def create_app(settings: ServiceSettings | None = None, *, clock: Clock = wall_clock,
               freshness_every_s: float = 30.0) -> FastAPI:
    """`clock` drives the wall-clock timers (feed_stale); tests pass a controllable one."""
    settings = settings or load_settings("ingest")
    cache, watermark = MasterCache(), Watermark()
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.append(ConsumerSpec("raw", [INGEST_RAW], make_raw_handler(cache), decoder=decode_raw))
    runtime.tasks.append(make_watcher(clock, watermark, freshness_every_s))
    app = build_app(runtime, title="Replenish ingest", routers=[routes.router, quarantine.router],
                    watermark=watermark.body)
    app.state.master_cache = cache
    app.state.watermark = watermark
    return app
