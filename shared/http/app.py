"""The FastAPI app every service is built on: lifespan, errors, health, metrics, watermark, tokens."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from shared.auth.principals import ROLES, Principal
from shared.http.deps import Admin, Reader, current_principal
from shared.http.docs import serve_local_docs
from shared.http.errors import ERROR_RESPONSES, ApiError, SafeJSONResponse, install_error_handlers
from shared.http.guard import DEFAULT_BODY_LIMIT, BodyLimit, BodyRule, checked_parameters
from shared.http.schemas import Health, IssuedToken, Ready, Watermark, WhoAmI
from shared.observability.logging import configure_logging
from shared.service import ServiceRuntime

WatermarkFn = Callable[[ServiceRuntime], dict]


_NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=_NO_CONTROLS)
    role: str = Field(max_length=20)
    supplier_id: str | None = Field(None, min_length=1, max_length=200, pattern=_NO_CONTROLS)


def ops_router(watermark: WatermarkFn | None) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", tags=["ops"], response_model=Health)
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz", tags=["ops"], responses={200: {"model": Ready}, 503: {"model": Ready,
                                                                                "description": "Not ready"}})
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        checks = await runtime.ready()
        body = {"ready": all(checks.values()), "checks": checks, "service": runtime.settings.service,
                "instance": runtime.settings.instance}
        if degraded := runtime.degraded():
            body["degraded"] = degraded  # consumers paused on an infrastructure failure, and why
        return JSONResponse(body,
                            status_code=200 if all(checks.values()) else 503)

    @router.get("/metrics", tags=["ops"], responses={200: {"content": {"text/plain": {}},
                                                           "description": "Prometheus text format"}})
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/v1/whoami", tags=["auth"], response_model=WhoAmI)
    async def whoami(principal: Annotated[Principal, Depends(current_principal)]) -> dict:
        """The caller's principal (any role): how the console learns who a token belongs to."""
        return {"name": principal.name, "role": principal.role}

    @router.get("/v1/watermark", tags=["ops"], response_model=Watermark)
    async def get_watermark(request: Request, _: Reader) -> dict:
        runtime: ServiceRuntime = request.app.state.runtime
        body = watermark(runtime) if watermark else {}
        if "event_time" not in body:
            marks = [m for m in (loop.progress.watermark() for loop in runtime.loops) if m]
            body["event_time"] = min(marks).isoformat() if marks else None
        if "decided_through" not in body:
            through = await runtime.decided_through(runtime) if runtime.decided_through else None
            body["decided_through"] = through.isoformat() if through else None
        body.setdefault("consumer_lag", runtime.consumer_lag())
        body.setdefault("outbox_backlog", runtime.relay.backlog if runtime.relay else None)
        return body

    @router.post("/v1/tokens", status_code=201, tags=["auth"], response_model=IssuedToken)
    async def issue_token(body: TokenRequest, request: Request, _: Admin) -> dict:
        if body.role not in ROLES:
            raise ApiError(422, f"role must be one of {', '.join(ROLES)}")
        if body.role == "supplier" and not body.supplier_id:
            raise ApiError(422, "a supplier token needs supplier_id")
        token, key_id = await request.app.state.tokens.issue(name=body.name, role=body.role,
                                                             supplier_id=body.supplier_id)
        return {"token": token, "key_id": key_id, "name": body.name, "role": body.role}

    @router.delete("/v1/tokens/{key_id}", status_code=204, tags=["auth"])
    async def revoke_token(key_id: str, request: Request, _: Admin) -> Response:
        if not await request.app.state.tokens.revoke(key_id):
            raise ApiError(404, "no such active token")
        return Response(status_code=204)

    return router


def build_app(runtime: ServiceRuntime, *, title: str, routers: Sequence[APIRouter],
              watermark: WatermarkFn | None = None, on_start: Callable | None = None,
              body_limit: int = DEFAULT_BODY_LIMIT, body_rules: Sequence[BodyRule] = ()) -> FastAPI:
    """`body_limit` bounds every request body; `body_rules` (method, path pattern, limit) raise or lower it
    for the doors that need another (ingest's batches). Docs: docs/reliability.md, "HTTP doors"."""
    settings = runtime.settings

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging(settings.service, settings.log_level)
        if settings.auto_migrate:
            from shared.db.migrate import upgrade_async
            await upgrade_async(settings.database_url, ["auth", settings.service])
        if on_start:
            await on_start(runtime)
        await runtime.start()
        yield
        await runtime.stop()

    app = FastAPI(title=title, version="1.0", lifespan=lifespan, default_response_class=SafeJSONResponse,
                  dependencies=[Depends(checked_parameters)], docs_url=None, redoc_url=None)
    serve_local_docs(app)
    app.state.runtime = runtime
    app.state.tokens = runtime.tokens
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=body_limit, rules=body_rules)
    app.include_router(ops_router(watermark), responses=ERROR_RESPONSES)
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    return app
