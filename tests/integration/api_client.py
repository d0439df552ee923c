"""One service router served in process over the real database, with a reader token: for read-API tests."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from shared.auth.principals import Principal
from shared.http.errors import install_error_handlers

AUTH = {"authorization": "Bearer planner-token"}


class PlannerTokens:
    async def lookup(self, token: str) -> Principal | None:
        return Principal(name="planner-1", role="planner") if token == "planner-token" else None


@contextlib.asynccontextmanager
async def api_client(*routers: APIRouter, state: dict[str, Any] | None = None,
                     **runtime: Any) -> AsyncIterator[httpx.AsyncClient]:
    """`runtime` becomes app.state.runtime (sessionmaker=…, uow=…), what the routes read; `state` more of app.state."""
    app = FastAPI()
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    app.state.runtime = SimpleNamespace(**runtime)
    app.state.tokens = PlannerTokens()
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        yield client
