"""Composition root of the orders service."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.orders import models, routes
from services.orders.actions import NotFound
from services.orders.consumers import consumer_specs
from services.orders.domain import IllegalTransition, ValidationError
from services.orders.sender import run_sender
from services.orders.settings import OrdersSettings
from services.orders.timers import run_timers
from shared.http.app import build_app
from shared.http.errors import error_body
from shared.service import ServiceRuntime
from shared.settings import ServiceSettings, load_settings


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


def create_app(settings: ServiceSettings | None = None, orders: OrdersSettings | None = None) -> FastAPI:
    settings = settings or load_settings("orders")
    cfg = orders or OrdersSettings()
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.extend(consumer_specs(cfg))

    async def timers(rt: ServiceRuntime, stop) -> None:
        await run_timers(rt, stop, cfg)

    async def sender(rt: ServiceRuntime, stop) -> None:
        await run_sender(rt, stop, cfg)

    runtime.tasks.extend([timers, sender])
    app = build_app(runtime, title="Replenish orders", routers=[routes.router])
    app.state.orders_settings = cfg
    _install_domain_errors(app)
    return app
