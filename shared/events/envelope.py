"""The CloudEvents 1.0 structured-mode envelope every topic carries."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Envelope(BaseModel):
    """A CloudEvents 1.0 envelope; `time` is the event time of what the data describes."""

    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time: timezone required")
        return value.astimezone(UTC)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


def deterministic_id(*parts: object) -> str:
    """An event id derived from its cause, so re-running a decision yields the same id."""
    digest = hashlib.sha256(json.dumps(parts, default=str, separators=(",", ":")).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def make_envelope(*, source: str, type: str, time: datetime, data: dict[str, Any],
                  subject: str | None = None, id: str | None = None) -> Envelope:
    return Envelope(id=id or str(uuid.uuid4()), source=source, type=type, time=time,
                    subject=subject, data=data)
