"""Policy's read API (CONTRACT §4) and the rules API."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from services.policy import repository as repo
from services.policy.domain.rules import RuleError, parse_rules
from services.policy.models import rules
from shared.http.deps import Planner, Reader
from shared.http.errors import ApiError

router = APIRouter(prefix="/v1", tags=["policy"])
STATUSES = ("ok", "watch", "critical", "stockout", "overstock")


@router.get("/positions/{location}/{sku}")
async def get_position(location: str, sku: str, request: Request, _: Reader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        found = await repo.get_position(session, location, sku)
    if found is None:
        raise ApiError(404, f"no position for {sku} at {location}")
    return found


@router.get("/positions")
async def list_positions(request: Request, _: Reader, status: str | None = None, location: str | None = None,
                         sku: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         cursor: str | None = None) -> dict[str, Any]:
    if status and status not in STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(STATUSES)}")
    after = tuple(cursor.split("|", 1)) if cursor and "|" in cursor else None
    async with request.app.state.runtime.sessionmaker() as session:
        items = await repo.list_positions(session, status=status, location=location, sku=sku, after=after,
                                          limit=limit)
    last = items[-1] if len(items) == limit else None
    return {"items": items, "next_cursor": f"{last['location']}|{last['sku']}" if last else None}


@router.get("/rules")
async def get_rules(request: Request, _: Reader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        current = await repo.current_rules(session)
    return current.doc if current else {"version": 0, "rules": []}


@router.put("/rules")
async def put_rules(body: Annotated[Any, Body()], request: Request, who: Planner) -> dict[str, Any]:
    """Replace the rule set; validated first, stored as a new version, applied on the next decision."""
    try:
        parsed = parse_rules(body)
    except RuleError as exc:
        raise ApiError(422, "rules are invalid", details=exc.errors) from exc
    async with request.app.state.runtime.uow() as uow:
        current = await repo.current_rules(uow.session)
        version = (current.version if current else 0) + 1
        doc = {"version": version, "rules": list(parsed.rules)}
        await uow.session.execute(rules.insert().values(version=version, doc=doc, created_by=who.name))
    return doc
