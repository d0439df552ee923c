"""Request and response models of the notify API."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from services.notify.domain import Matcher, parse_matcher
from services.notify.domain.matchers import make_matcher
from shared.http.schemas import Open


class AckRequest(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


class ResolveRequest(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


class MatcherObject(BaseModel):
    """Alertmanager's object form: {"name", "value", "isRegex", "isEqual"}."""

    name: str
    value: str
    isRegex: bool = False  # Alertmanager spelling
    isEqual: bool = True

    def to_matcher(self) -> Matcher:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return make_matcher(self.name, op[(self.isRegex, self.isEqual)], self.value)


class SilenceRequest(BaseModel):
    """Matchers as strings (`sku="SKU-1"`, `type=~"po_late|feed_stale"`) or objects; a bounded window."""

    matchers: list[str | MatcherObject] = Field(min_length=1)
    ends_at: datetime
    starts_at: datetime | None = None
    reason: str = Field(min_length=1, max_length=2000)

    @field_validator("matchers")
    @classmethod
    def _parse(cls, items: list[str | MatcherObject]) -> list[str | MatcherObject]:
        for item in items:
            parse_matcher(item) if isinstance(item, str) else item.to_matcher()
        return items

    def parsed(self) -> list[Matcher]:
        return [parse_matcher(m) if isinstance(m, str) else m.to_matcher() for m in self.matchers]


def silence_json(row: Any, now: datetime) -> dict[str, Any]:
    status = "expired" if row["deleted_at"] or row["ends_at"] <= now else (
        "active" if row["starts_at"] <= now else "pending")
    return {"id": row["id"], "matchers": row["matchers"], "starts_at": row["starts_at"].isoformat(),
            "ends_at": row["ends_at"].isoformat(), "reason": row["reason"], "created_by": row["created_by"],
            "created_at": row["created_at"].isoformat(), "status": status}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def alert_json(row: Any, deliveries: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, Any]:
    """The contract's alert shape (docs/contract.md §6) plus revision, counts and labels."""
    return {
        "id": row["id"], "key": row["key"], "type": row["type"], "severity": row["severity"],
        "status": row["status"], "sku": row["sku"], "location": row["location"],
        "supplier_id": row["supplier_id"], "category": row["category"], "po_id": row["po_id"],
        "summary": row["summary"], "explanation": row["explanation"], "value_at_risk": row["value_at_risk"],
        "labels": labels, "revision": row["revision"], "fire_count": row["fire_count"],
        "first_fired_at": _iso(row["first_fired_at"]), "last_fired_at": _iso(row["last_fired_at"]),
        "resolved_at": _iso(row["resolved_at"]), "acked_by": row["acked_by"], "acked_at": _iso(row["acked_at"]),
        "ack_comment": row["ack_comment"], "history": row["history"],
        "deliveries": [{"channel": d["channel"], "receiver": d["receiver"], "status": d["status"],
                        "attempts": d["attempts"], "at": _iso(d["at"]), "revision": d["revision"],
                        "occasion": d["occasion"]} for d in deliveries],
    }


def po_email_json(row: Any) -> dict[str, Any]:
    return {"idempotency_key": row["idempotency_key"], "po_id": row["po_id"], "supplier_id": row["supplier_id"],
            "revision": row["revision"], "to": row["recipient"], "subject": row["subject"],
            "filename": row["filename"], "status": row["status"], "reason": row["reason"],
            "attempts": row["attempts"], "last_error": row["last_error"],
            "created_at": _iso(row["created_at"]), "at": _iso(row["at"])}



class AlertHistory(Open):
    at: str
    actor: str
    action: str
    comment: str | None = None


class DeliveryLog(Open):
    channel: str
    status: str
    attempts: int
    at: str | None = None


class Alert(Open):
    """docs/contract.md §6; times as ISO 8601 text."""

    id: str
    key: str
    type: str
    severity: str
    status: str
    sku: str | None = None
    location: str | None = None
    supplier_id: str | None = None
    summary: str
    explanation: dict[str, Any] = {}
    first_fired_at: str | None = None
    last_fired_at: str | None = None
    acked_by: str | None = None
    acked_at: str | None = None
    ack_comment: str | None = None
    history: list[AlertHistory] = []
    deliveries: list[DeliveryLog] = []
