"""Composition root of the console: sessions, the upstream client, pages, static files and ops doors."""
from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from services.console.routes import alerts, auth, links, orders, stock
from services.console.sessions import COOKIE, SessionStore
from services.console.settings import ConsoleSettings
from services.console.upstream import Upstream, UpstreamDown
from services.console.web import Refused, SignInFirst, render, store
from shared.http.ratelimit import RateLimit
from shared.observability.logging import configure_logging

PAGES = Counter("replenish_console_pages_total", "Console answers by outcome", ["outcome"])
# Browsers may load what the console serves itself and nothing else; forms post only back to it.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging("console", settings.log_level)
        yield
        await app.state.upstream.close()

    # no /docs pages (the console is pages, not an API), but its routes' OpenAPI document is served so that the
    # fault suite, which finds services in endpoints.json, fuzzes the console's parameters like every other door
    app = FastAPI(title="Replenish console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.upstream = Upstream(settings)
    app.state.sessions = SessionStore(app.state.upstream.whoami, idle_s=settings.session_idle_s,
                                      recheck_s=settings.recheck_s)
    app.state.secret = secrets.token_bytes(32)  # keys acknowledge-link forms; per process like the sessions
    app.state.link_rate = RateLimit(settings.link_rate_per_min)
    app.state.login_rate = RateLimit(settings.login_rate_per_min)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    _ops_doors(app, settings)
    _answers(app)
    for module in (auth, stock, alerts, orders, links):
        app.include_router(module.router)
    return app


def _ops_doors(app: FastAPI, settings: ConsoleSettings) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready when the service that knows tokens (notify) answers: without it nobody can sign in."""
        checks = await request.app.state.upstream.healthy()
        ready = checks.get("notify", False)
        return JSONResponse({"ready": ready, "checks": checks, "service": "console", "instance": settings.instance,
                             "sessions": len(store(request))}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Cache-Control", "no-store")
        PAGES.labels(str(response.status_code)[0] + "xx").inc()
        return response


def _answers(app: FastAPI) -> None:
    @app.exception_handler(SignInFirst)
    async def sign_in_first(request: Request, exc: SignInFirst):
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
        session = await store(request).find(request.cookies.get(COOKIE))
        return render(request, "refused.html", session, status=exc.status, key=exc.key, values=exc.values)

    @app.exception_handler(UpstreamDown)
    async def upstream_down(request: Request, exc: UpstreamDown):
        return render(request, "refused.html", None, status=503, key="service_down", values={"what": str(exc)})
