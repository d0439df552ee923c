"""Response models of the doors every service has (§2): health, readiness, whoami, watermark, tokens."""
from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    """200 when every check passes, else 503 with the same body; `degraded` names paused consumers and why."""

    model_config = ConfigDict(extra="allow")
    ready: bool
    checks: dict[str, bool]
    service: str
    instance: str | None = None


class WhoAmI(BaseModel):
    name: str
    role: str


class Watermark(BaseModel):
    """Event times as ISO 8601 text; a service may add its own progress fields (ingest: per source)."""

    model_config = ConfigDict(extra="allow")
    event_time: str | None
    decided_through: str | None
    consumer_lag: Any = None
    outbox_backlog: int | None = None


class IssuedToken(BaseModel):
    """The token is shown once, here; only its hash is kept."""

    token: str
    key_id: str
    name: str
    role: str


class Page(BaseModel, Generic[T]):
    """Every list: a page of items and the cursor of the next one (null on the last page)."""

    items: list[T]
    next_cursor: str | None = None


class Open(BaseModel):
    """A read model whose declared fields are documented and typed; fields a later version adds still pass."""

    model_config = ConfigDict(extra="allow")
