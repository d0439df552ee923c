"""Composition root of the orders service."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.orders import kpi_routes, models, routes
from services.orders import repository as repo
from services.orders.actions import NotFound
from services.orders.consumers import consumer_specs
from services.orders.domain import IllegalTransition, ValidationError
from services.orders.sender import run_sender
from services.orders.settings import OrdersSettings
from services.orders.timers import run_timers
from shared.clock import Clock
from shared.http.app import build_app
from shared.http.errors import error_body
from shared.service import ServiceRuntime
from shared.settings import ServiceSettings, load_settings

log = logging.getLogger(__name__)


def _install_domain_errors(app: FastAPI) -> None:
    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse(error_body("conflict", str(exc), [{"status": exc.status, "action": exc.action}]),
                            status_code=409)

    @app.exception_handler(ValidationError)
    async def _invalid(_: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid", "request is invalid", exc.errors), status_code=422)

    @app.exception_handler(NotFound)
    async def _missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(error_body("not_found", f"no purchase order {exc}"), status_code=404)


async def _decided_through(runtime: ServiceRuntime) -> datetime | None:
    async with runtime.sessionmaker() as session:
        return await repo.decided_through(session)


def _clock_seeder(clock: Clock):
    """Under the event clock, resume from the latest event time orders stored, so a restart never moves
    time back (before the first event after it, `now()` would otherwise be the epoch)."""

    async def seed(runtime: ServiceRuntime) -> None:
        if not clock.is_event:
            return
        for attempt in range(60):
            try:
                async with runtime.sessionmaker() as session:
                    clock.observe(await repo.latest_event_time(session))
                log.info("orders event clock resumes at %s", clock.event_time)
                return
            except Exception as exc:  # the database may still be starting (replenish up starts all at once)
                if attempt == 59:
                    raise
                log.info("orders event clock not seeded yet (%s); retrying", exc)
                await asyncio.sleep(0.5)

    return seed


def create_app(settings: ServiceSettings | None = None, orders: OrdersSettings | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or load_settings("orders")
    cfg = orders or OrdersSettings()
    clock = clock or Clock.from_env()  # REPLENISH_CLOCK: one clock for the whole process, passed down
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.extend(consumer_specs(cfg, clock))
    runtime.decided_through = _decided_through

    async def timers(rt: ServiceRuntime, stop) -> None:
        await run_timers(rt, stop, cfg, clock)

    async def sender(rt: ServiceRuntime, stop) -> None:
        await run_sender(rt, stop, cfg, clock)

    runtime.tasks.extend([timers, sender])
    app = build_app(runtime, title="Replenish orders", routers=[routes.router, kpi_routes.router],
                    on_start=_clock_seeder(clock))
    app.state.orders_settings = cfg
    app.state.orders_clock = clock
    _install_domain_errors(app)
    return app
