"""Request bodies of the orders API (pydantic); responses are the PO views of views.py."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproveBody(_Body):
    reason: str = ""


class ReasonBody(_Body):
    reason: str = ""


class LineQuantity(_Body):
    sku: str
    location: str
    quantity: float = Field(ge=0)


class EditLinesBody(_Body):
    lines: list[LineQuantity] = Field(min_length=1)
    reason: str = ""


class RescheduleBody(_Body):
    date: date
    reason: str = ""


class WebhookBody(_Body):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    secret: str = Field(min_length=1, max_length=500)


class AcknowledgeBody(BaseModel):
    promised_date: Any
    lines: list[dict[str, Any]] | None = None


class ShipBody(BaseModel):
    eta: Any
    tracking: str | None = Field(None, max_length=200)
    lines: list[dict[str, Any]] = Field(default_factory=list)
