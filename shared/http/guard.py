"""Guards in front of every route: the body limit while bytes stream in, and checks of path and query text.

Both run before authentication and before any parsing, so what a caller sends costs us at most the limit,
whoever sends it, and no parameter reaches SQL with a byte PostgreSQL refuses.
"""
from __future__ import annotations

import json
import re
import typing
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.errors import ApiError, error_body

DEFAULT_BODY_LIMIT = 4 * 1024 * 1024  # every JSON body of the API but ingest's doors fits many times over
MAX_PATH_PARAM = 200  # every path parameter is a code or an id (docs/contract.md §3: codes are at most 200 characters)
MAX_QUERY_VALUE = 1000
MAX_QUERY_ITEMS = 100
INT64_MAX = 2**63 - 1
# C0 controls and DEL; tab, CR and LF included: no code, id or filter of this API holds one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")

BodyRule = tuple[str, "re.Pattern[str]", int]  # method, path pattern (fullmatch), limit in bytes


class BodyTooLarge(Exception):
    """Raised into the app by `receive` once the body passed the limit; the guard answers 413."""


class BodyLimit:
    """Pure ASGI middleware: a declared Content-Length over the limit is refused before the app runs; a
    streamed (chunked) body is counted as it arrives and refused the moment it passes the limit, so nothing
    beyond the limit is ever held. The 413 closes the connection: the rest of the upload is not read."""

    def __init__(self, app: ASGIApp, *, limit: int = DEFAULT_BODY_LIMIT, rules: Sequence[BodyRule] = ()) -> None:
        self.app, self.limit, self.rules = app, limit, tuple(rules)

    def limit_for(self, method: str, path: str) -> int:
        for rule_method, pattern, limit in self.rules:
            if method == rule_method and pattern.fullmatch(path):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        state = {"seen": 0, "over": False, "started": False}

        async def limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise BodyTooLarge()
            return message

        async def guarded(message: Message) -> None:
            if state["over"]:
                return  # whatever the app made of the interrupted read, the answer is the 413 below
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not state["over"] or state["started"]:
                raise
        if state["over"] and not state["started"]:
            await _too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(error_body("payload_too_large", f"request body larger than {limit} bytes"),
                      separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _text_problem(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"must be at most {limit} characters"
    if _CONTROL.search(value):
        return "must not contain control characters"
    return None


def _integer_parameters(route: Any) -> frozenset[tuple[str, str]]:
    """(where, name) of every parameter the route reads as an integer, its dependencies' included; worked
    out once per route and kept on it (routes are not hashable)."""
    known = getattr(route, "_replenish_integer_parameters", None)
    if known is None:
        known = _find_integer_parameters(route)
        route._replenish_integer_parameters = known
    return known


def _find_integer_parameters(route: Any) -> frozenset[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    todo = [getattr(route, "dependant", None)]
    while todo:
        dependant = todo.pop()
        if dependant is None:
            continue
        for where, fields in (("query", dependant.query_params), ("path", dependant.path_params)):
            found.update((where, field.alias) for field in fields if _is_integer(field.field_info.annotation))
        todo.extend(dependant.dependencies)
    return frozenset(found)


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    return any(arg is int for arg in typing.get_args(annotation))  # int | None


async def checked_parameters(request: Request) -> None:
    """App-wide dependency: path and query values without control characters and of sane length; integer
    parameters within 64 bits (PostgreSQL's bigint). 422 with the contract's error body otherwise."""
    problems = []
    for name, value in request.path_params.items():
        problem = _text_problem(str(value), MAX_PATH_PARAM)
        if problem:
            problems.append(f"path.{_shown(name)}: {problem}")
    items = request.query_params.multi_items()
    if len(items) > MAX_QUERY_ITEMS:
        problems.append(f"query: at most {MAX_QUERY_ITEMS} parameters")
    for name, value in items[:MAX_QUERY_ITEMS]:
        problem = _text_problem(name, MAX_QUERY_VALUE) or _text_problem(value, MAX_QUERY_VALUE)
        if problem:
            problems.append(f"query.{_shown(name)}: {problem}")
    route = request.scope.get("route")
    if route is not None:
        for where, name in _integer_parameters(route):
            source = request.path_params if where == "path" else request.query_params
            value = source.get(name)
            if isinstance(value, str) and _INTEGER.fullmatch(value) and _beyond_int64(value):
                problems.append(f"{where}.{name}: must be an integer within ±{INT64_MAX}")
    if problems:
        raise ApiError(422, "request parameters are invalid", code="invalid", details=problems)


def _beyond_int64(text: str) -> bool:
    digits = text.strip().lstrip("+-").lstrip("0")
    return len(digits) > 19 or int(digits or "0") > INT64_MAX


def _shown(name: str) -> str:
    return _CONTROL.sub("?", name)[:60]
