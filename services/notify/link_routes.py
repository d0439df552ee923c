"""Acknowledge links outside /v1 (§11): the one action without a bearer token, so it is rate-limited. The
console's `/a/<token>` page calls these; GET never changes anything."""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.notify import ack_links
from services.notify.handlers import utcnow
from shared.http.errors import ApiError
from shared.http.ratelimit import RateLimit

router = APIRouter(prefix="/ack-links", tags=["acknowledge links"])
MAX_TOKEN = 100


class LinkAck(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


def _admit(request: Request, token: str) -> None:
    limit: RateLimit = request.app.state.link_rate
    if len(token) > MAX_TOKEN or not limit.allow(request.client.host if request.client else "?"):
        raise ApiError(429, "too many acknowledge link requests; try again in a minute")


@router.get("/{token}")
async def show_link(token: str, request: Request) -> dict:
    _admit(request, token)
    async with request.app.state.runtime.uow() as uow:
        found = await ack_links.show(uow, token, utcnow())
    if found is None:
        raise ApiError(404, "no such acknowledge link")
    return found


@router.post("/{token}")
async def use_link(token: str, request: Request, body: LinkAck | None = None) -> dict:
    _admit(request, token)
    async with request.app.state.runtime.uow() as uow:
        found = await ack_links.use(uow, token, body.comment if body else None, utcnow())
    if found is None:
        raise ApiError(404, "no such acknowledge link")
    request.app.state.dispatcher.wake.set()
    return found
