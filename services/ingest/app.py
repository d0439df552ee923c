"""Composition root of the ingest service."""
from __future__ import annotations

import asyncio
import gc

from fastapi import FastAPI

from services.ingest import kpi_routes, models, quarantine, routes
from services.ingest.consumers import RAW_TYPES, decode_raw, make_raw_handler
from services.ingest.freshness import Clock, Watermark, make_watcher, wall_clock
from services.ingest.handlers import MasterCache
from shared.events.topics import INGEST_RAW
from shared.http.app import build_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings, load_settings

GC_THRESHOLDS = (50_000, 20, 20)


async def tune_gc(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Once started, freeze what exists (modules, app, master snapshot) out of the cyclic collector and let
    the young generation grow: a 10,000-event batch allocates ~10 containers per event, all alive until the
    response, and collecting them over and over with a large heap cost ~10-25 % of ingest's CPU."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: ServiceSettings | None = None, *, clock: Clock = wall_clock,
               freshness_every_s: float = 30.0) -> FastAPI:
    """`clock` drives the wall-clock timers (feed_stale); tests pass a controllable one."""
    settings = settings or load_settings("ingest")
    cache, watermark = MasterCache(), Watermark()
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.append(ConsumerSpec("raw", [INGEST_RAW], make_raw_handler(cache), decoder=decode_raw,
                                          types=RAW_TYPES))
    runtime.tasks.append(make_watcher(clock, watermark, freshness_every_s))
    runtime.tasks.append(tune_gc)
    app = build_app(runtime, title="Replenish ingest", routers=[routes.router, quarantine.router, kpi_routes.router],
                    watermark=watermark.body, body_rules=[("POST", routes.BATCH_DOORS, routes.MAX_BODY_BYTES)])
    app.state.master_cache = cache
    app.state.watermark = watermark
    app.state.freshness_clock = clock
    return app
