"""The shared app's doors over a bare app (no database): body limits while streaming, parameter checks,
infrastructure errors as 503 + Retry-After, refused values as 422 — never a 5xx for the caller's input."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel

from shared.http.errors import ApiError, SafeJSONResponse, install_error_handlers
from shared.http.faults import bad_value, unavailable
from shared.http.guard import BodyLimit, checked_parameters
from shared.runtime.platform import HEALTHY_AFTER_S, RESTART_MAX_S, Restarts

LIMIT = 1000


class Token(BaseModel):
    name: str


async def token_required(request: Request) -> None:
    if request.headers.get("authorization") != "Bearer ok":
        raise ApiError(401, "missing bearer token")


class Seen:
    """What the route got to read: nothing beyond the limit may ever reach it."""

    largest = 0


def make_app() -> FastAPI:
    app = FastAPI(default_response_class=SafeJSONResponse, dependencies=[Depends(checked_parameters)])
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=LIMIT, rules=[("POST", re.compile(r"/big"), 10 * LIMIT)])

    @app.post("/tokens")
    async def tokens(body: Token, _: Annotated[None, Depends(token_required)]) -> dict:
        return {"name": body.name}

    @app.post("/big")
    async def big(request: Request) -> dict:
        body = await request.body()
        Seen.largest = max(Seen.largest, len(body))
        return {"bytes": len(body)}

    @app.get("/items/{item_id}")
    async def item(item_id: int, cursor: Annotated[int, Query(ge=0)] = 0, sku: str | None = None) -> dict:
        return {"item_id": item_id, "cursor": cursor, "sku": sku}

    @app.get("/codes/{code}")
    async def code(code: str) -> dict:
        return {"code": code}

    @app.get("/fails/{how}")
    async def fails(how: str) -> dict:
        raise FAULTS[how]()

    @app.get("/echo")
    async def echo() -> dict:
        return {"text": "a\ud800b"}

    return app


def _db_error(sqlstate: str, message: str) -> Exception:
    """What SQLAlchemy raises for an asyncpg error: the driver's exception (with its SQLSTATE) as the cause."""
    from sqlalchemy.exc import DBAPIError

    class DriverError(Exception):
        def __init__(self) -> None:
            super().__init__(message)
            self.sqlstate = sqlstate

    cause = DriverError()
    error = DBAPIError("SELECT 1", {}, cause)
    error.__cause__ = cause
    return error


FAULTS = {
    "socket-gone": lambda: FileNotFoundError(2, "No such file or directory"),  # PostgreSQL stopped (unix socket)
    "refused": lambda: ConnectionRefusedError(111, "Connection refused"),
    "closed-mid-query": lambda: _db_error("08003", "connection was closed in the middle of operation"),
    "shutting-down": lambda: _db_error("57P01", "terminating connection due to administrator command"),
    "nul-in-text": lambda: _db_error("22021", 'invalid byte sequence for encoding "UTF8": 0x00'),
    "int-overflow": lambda: _db_error("22000", "invalid input for query argument $1 (value out of int64 range)"),
    "bug": lambda: KeyError("ours"),
}


async def call(method: str, url: str, **kwargs) -> httpx.Response:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, url, **kwargs)


def run(method: str, url: str, **kwargs) -> httpx.Response:
    return asyncio.run(call(method, url, **kwargs))


async def chunks(total: int, size: int = 250) -> AsyncIterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def test_declared_body_over_the_limit_is_refused_before_authentication():
    r = run("POST", "/tokens", content=b"{" + b" " * 2 * LIMIT + b"}")  # no token at all
    assert r.status_code == 413 and error(r)["code"] == "payload_too_large"
    assert r.headers["connection"] == "close"


def test_streamed_body_is_refused_as_it_passes_the_limit():
    Seen.largest = 0
    r = run("POST", "/tokens", content=chunks(50 * LIMIT))  # chunked, no length declared, no token
    assert r.status_code == 413 and error(r)["code"] == "payload_too_large"
    r = run("POST", "/big", content=chunks(50 * LIMIT))
    assert r.status_code == 413 and Seen.largest == 0  # the route never held the body


def test_a_door_may_take_a_larger_body_than_the_default():
    r = run("POST", "/big", content=chunks(5 * LIMIT))
    assert r.status_code == 200 and r.json() == {"bytes": 5 * LIMIT}


def test_small_bodies_pass_and_authentication_still_decides():
    assert run("POST", "/tokens", json={"name": "x"}).status_code == 401
    ok = run("POST", "/tokens", json={"name": "x"}, headers={"authorization": "Bearer ok"})
    assert ok.status_code == 200 and ok.json() == {"name": "x"}


@pytest.mark.parametrize(("url", "where"), [
    ("/items/1?sku=a%00b", "query.sku"), ("/codes/a%00b", "path.code"), ("/codes/a%0Ab", "path.code"),
    ("/items/1?sku=" + "x" * 1001, "query.sku"), ("/codes/" + "x" * 201, "path.code"),
    ("/items/1?cursor=99999999999999999999", "query.cursor"), ("/items/99999999999999999999", "path.item_id"),
    ("/items/-99999999999999999999", "path.item_id"), ("/items/1?cursor=" + "9" * 500, "query.cursor"),
])
def test_bad_parameters_answer_422_in_the_contract_shape(url, where):
    r = run("GET", url)
    assert r.status_code == 422, r.text
    assert any(detail.startswith(where) for detail in error(r)["details"]), r.text


def test_good_parameters_pass():
    assert run("GET", "/items/9223372036854775807?cursor=5&sku=SKU-1").json() == {
        "item_id": 9223372036854775807, "cursor": 5, "sku": "SKU-1"}
    assert run("GET", "/codes/店-12 ä").json() == {"code": "店-12 ä"}


@pytest.mark.parametrize(("how", "status"), [
    ("socket-gone", 503), ("refused", 503), ("closed-mid-query", 503), ("shutting-down", 503),
    ("nul-in-text", 422), ("int-overflow", 422), ("bug", 500),
])
def test_infrastructure_errors_are_503_with_retry_after_and_refused_values_422(how, status):
    r = run("GET", f"/fails/{how}")
    assert r.status_code == status
    assert error(r)["code"] == {503: "unavailable", 422: "invalid", 500: "internal"}[status]
    assert ("retry-after" in r.headers) == (status == 503)
    assert "Traceback" not in r.text


def test_classifier_reads_the_whole_chain():
    outer = RuntimeError("wrapped")
    outer.__cause__ = FAULTS["closed-mid-query"]()
    assert unavailable(outer) == "database" and not bad_value(outer)
    assert bad_value(FAULTS["nul-in-text"]()) and unavailable(KeyError("x")) is None


def test_a_response_with_an_unpaired_surrogate_still_renders():
    r = run("GET", "/echo")
    assert r.status_code == 200 and r.json() == {"text": "a\ud800b"}


def test_restart_backoff_doubles_to_a_cap_and_resets_after_a_healthy_minute():
    state = Restarts(started_at=0.0)
    delays = []
    for _ in range(7):
        delays.append(state.died(-9, now=1.0))
        state.started_at = 1.0  # restarted, dies again within the minute
    assert delays == [1, 2, 4, 8, 16, RESTART_MAX_S, RESTART_MAX_S]
    assert state.died(-9, now=1.0 + HEALTHY_AFTER_S) == 1  # a minute alive: counted from scratch
