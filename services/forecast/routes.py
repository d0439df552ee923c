"""Forecast's read API (docs/contract.md §4) and planner overrides."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, model_validator

from services.forecast import repository as repo
from services.forecast.schemas import Forecast, Override
from shared.http.deps import Planner, Reader
from shared.http.errors import ApiError
from shared.http.schemas import Page

router = APIRouter(prefix="/v1", tags=["forecast"])


@router.get("/forecasts/{location}/{sku}", response_model=Forecast)
async def get_forecast(location: str, sku: str, request: Request, _: Reader) -> dict[str, Any]:
    async with request.app.state.runtime.sessionmaker() as session:
        found = await repo.get_forecast(session, location, sku)
    if found is None:
        raise ApiError(404, f"no forecast for {sku} at {location} yet")
    return found


@router.get("/forecasts", response_model=Page[Forecast])
async def list_forecasts(request: Request, _: Reader, location: str | None = None, sku: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 50,
                         offset: Annotated[int, Query(ge=0, description="deprecated: use cursor")] = 0,
                         cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None
                         ) -> dict[str, Any]:
    """Paged by cursor, in (location, sku) order, as every other list (`offset` still works, for old clients)."""
    if cursor and "|" not in cursor:
        raise ApiError(422, "cursor must be the next_cursor of a previous page")
    after = tuple(cursor.split("|", 1)) if cursor else None
    async with request.app.state.runtime.sessionmaker() as session:
        items = await repo.list_forecasts(session, location=location, sku=sku, limit=limit, offset=offset,
                                          after=after)
    last = items[-1] if len(items) == limit else None
    return {"items": items, "next_cursor": f"{last['location']}|{last['sku']}" if last else None}


class OverrideRequest(BaseModel):
    start: date
    end: date
    quantity: float | None = Field(None, ge=0, le=1e9)
    multiplier: float | None = Field(None, ge=0, le=1000)
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _one_change(self) -> OverrideRequest:
        if (self.quantity is None) == (self.multiplier is None):
            raise ValueError("give exactly one of quantity or multiplier")
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a timezone")
        return self


@router.post("/forecasts/{location}/{sku}/overrides", status_code=201, response_model=Override)
async def add_override(location: str, sku: str, body: OverrideRequest, request: Request,
                       who: Planner) -> dict[str, Any]:
    """A planner's override for a period, with a reason and an expiry; the series is re-forecast."""
    async with request.app.state.runtime.uow() as uow:
        oid = await repo.add_override(uow.session, {"location": location, "sku": sku, **body.model_dump(),
                                                    "created_by": who.name})
    return {"id": oid, "location": location, "sku": sku, **body.model_dump(mode="json"), "created_by": who.name}
