"""Policy's read API (docs/contract.md §4) and the rules API."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from services.policy import repository as repo
from services.policy.domain.rules import RuleError, parse_rules
from services.policy.models import rules
from services.policy.schemas import Explain, Position, Reorder, RuleSet
from shared.http.deps import Planner, Reader
from shared.http.errors import ApiError
from shared.http.schemas import Page

router = APIRouter(prefix="/v1", tags=["policy"])
STATUSES = ("ok", "watch", "critical", "stockout", "overstock")
REORDER_STATUSES = ("open", "confirmed", "closed")


@router.get("/positions/{location}/{sku}", response_model=Position)
async def get_position(location: str, sku: str, request: Request, _: Reader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        found = await repo.get_position(session, location, sku)
    if found is None:
        raise ApiError(404, f"no position for {sku} at {location}")
    return found


@router.get("/positions/{location}/{sku}/explain", response_model=Explain)
async def explain_position(location: str, sku: str, request: Request, _: Reader) -> dict[str, Any]:
    """Why did (or didn't) it reorder: the decision, its inputs and formulas, the last reorder and segment."""
    async with request.app.state.runtime.sessionmaker() as session:
        found = await repo.get_position(session, location, sku)
        last = await repo.last_reorder(session, location, sku)
        segment = await repo.segment_for(session, location, sku)
    if found is None:
        raise ApiError(404, f"no position for {sku} at {location}")
    explanation = found.get("explanation") or {}
    decision = explanation.get("decision") or {}
    return {"location": location, "sku": sku, "as_of": found.get("as_of"), "status": found.get("status"),
            "reordered": bool(decision.get("emitted")), "answer": decision.get("reason"),
            "decision": decision, "explanation": explanation, "last_reorder": last,
            "segment": {"abc": segment.abc, "xyz": segment.xyz, "pattern": segment.pattern,
                        "annual_value": segment.annual_value} if segment else None}


@router.get("/reorders", response_model=Page[Reorder])
async def list_reorders(request: Request, _: Reader, location: str | None = None, sku: str | None = None,
                        status: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                        cursor: str | None = None) -> dict[str, Any]:
    """Reorders this service emitted, with their status (open until a PO carries them, then confirmed)."""
    if status and status not in REORDER_STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(REORDER_STATUSES)}")
    async with request.app.state.runtime.sessionmaker() as session:
        items = await repo.list_reorders(session, location=location, sku=sku, status=status, after=cursor,
                                         limit=limit)
    return {"items": items, "next_cursor": items[-1]["reorder_id"] if len(items) == limit else None}


@router.get("/positions", response_model=Page[Position])
async def list_positions(request: Request, _: Reader, status: str | None = None, location: str | None = None,
                         sku: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         cursor: str | None = None) -> dict[str, Any]:
    if status and status not in STATUSES:
        raise ApiError(422, f"status must be one of {', '.join(STATUSES)}")
    if cursor and "|" not in cursor:
        raise ApiError(422, "cursor must be the next_cursor of a previous page")
    after = tuple(cursor.split("|", 1)) if cursor else None
    async with request.app.state.runtime.sessionmaker() as session:
        items = await repo.list_positions(session, status=status, location=location, sku=sku, after=after,
                                          limit=limit)
    last = items[-1] if len(items) == limit else None
    return {"items": items, "next_cursor": f"{last['location']}|{last['sku']}" if last else None}


@router.get("/rules", response_model=RuleSet)
async def get_rules(request: Request, _: Reader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        current = await repo.current_rules(session)
    return current.doc if current else {"version": 0, "rules": []}


@router.put("/rules", response_model=RuleSet)
async def put_rules(body: Annotated[Any, Body()], request: Request, who: Planner) -> dict[str, Any]:
    """Replace the rule set; validated first, stored as a new version, applied on the next decision."""
    if isinstance(body, dict) and "version" in body and not isinstance(body["version"], int):
        raise ApiError(422, "rules are invalid", details=["version: must be an integer"])
    try:
        parsed = parse_rules(body)
    except RuleError as exc:
        raise ApiError(422, "rules are invalid", details=exc.errors) from exc
    async with request.app.state.runtime.uow() as uow:
        current = await repo.current_rules(uow.session)
        seen = current.version if current else 0
        if isinstance(body, dict) and "version" in body and body["version"] != seen:
            raise ApiError(409, f"rules changed since version {body['version']}: current is {seen}; "
                                "GET /v1/rules and edit again")
        version = seen + 1
        doc = {"version": version, "rules": list(parsed.rules)}
        await uow.session.execute(rules.insert().values(version=version, doc=doc, created_by=who.name))
    return doc
