"""The error format of docs/contract.md §2: {"error": {"code", "message", "details"}}; never a stack trace."""
from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.http.faults import RETRY_AFTER_S, bad_value, unavailable

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "payload_too_large", 414: "uri_too_long", 415: "unsupported_media_type",
         422: "invalid", 429: "rate_limited", 503: "unavailable"}


class ApiError(Exception):
    """Raise from a route for a 4xx with a contract-shaped body."""

    def __init__(self, status: int, message: str, *, code: str | None = None, details: list[Any] | None = None):
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "error")
        self.details = details or []


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any]


class ErrorBody(BaseModel):
    """Every 4xx and 5xx of every service (docs/contract.md §2)."""

    error: ErrorDetail


# Documented on every route (OpenAPI), so clients and fuzzers know the error answers and their shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in (
        (400, "The body is not what the endpoint reads (not JSON, not CSV)"),
        (401, "Missing, invalid or revoked bearer token"),
        (403, "The token's role may not do this"),
        (404, "No such resource"),
        (409, "Conflicts with the current state"),
        (413, "The body is larger than this endpoint's limit (refused while it streams in)"),
        (422, "A parameter or the body is invalid; `details` says which"),
        (503, "The database or broker is unreachable; retry after `Retry-After` seconds"),
    )}


class SafeJSONResponse(JSONResponse):
    """JSON that always renders: text the caller sent may hold an unpaired surrogate, which UTF-8 cannot
    encode; such a body is written with \\u escapes instead of failing as a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def error_response(status: int, code: str, message: str, details: list[Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return SafeJSONResponse(error_body(code, message, details), status_code=status, headers=headers)


class _Throttle:
    """One log line per kind of outage every `every_s` seconds: an outage must not flood the log."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.last: dict[str, float] = {}  # kind -> monotonic time of its last line

    def due(self, kind: str) -> bool:
        now = time.monotonic()
        if now - self.last.get(kind, -self.every_s) < self.every_s:
            return False
        self.last[kind] = now
        return True


def fault_response(exc: Exception, throttle: _Throttle) -> JSONResponse:
    """503 + Retry-After while the database or broker is away, 422 for a value it refused, else 500."""
    if bad_value(exc):
        log.info("a value was refused by the database: %s", str(exc).splitlines()[0][:300])
        return error_response(422, "invalid", "a value in the request cannot be stored (control characters, "
                                              "unpaired surrogates or a number out of range)")
    away = unavailable(exc)
    if away is not None:
        if throttle.due(away):
            log.warning("answering 503: the %s is unreachable (%s: %s)", away, type(exc).__name__,
                        str(exc).splitlines()[0][:200] if str(exc) else "")
        return error_response(503, "unavailable", f"the {away} is unreachable; retry later",
                              headers={"Retry-After": str(RETRY_AFTER_S)})
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "internal", "internal error")


def infrastructure_errors() -> tuple[type[Exception], ...]:
    """Base classes of what a database or broker call raises; imported here so a service without one of
    the drivers still starts."""
    found: list[type[Exception]] = [OSError]
    for module, name in (("sqlalchemy.exc", "SQLAlchemyError"), ("asyncpg.exceptions", "PostgresError"),
                         ("asyncpg.exceptions._base", "InterfaceError"), ("aiokafka.errors", "KafkaError")):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def install_error_handlers(app: FastAPI) -> None:
    throttle = _Throttle()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
                   for e in exc.errors()]
        return error_response(422, "invalid", "request is invalid", details)

    # Handled inside the app (not by the outermost handler, which re-raises into the server's log): during
    # an outage every request fails this way, and one throttled line says it.
    async def _infrastructure(_: Request, exc: Exception) -> JSONResponse:
        return fault_response(exc, throttle)

    for kind in infrastructure_errors():
        app.add_exception_handler(kind, _infrastructure)

    @app.exception_handler(Exception)
    async def _ours(_: Request, exc: Exception) -> JSONResponse:
        return fault_response(exc, throttle)
