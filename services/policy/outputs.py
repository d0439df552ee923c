"""Writes of a decider pass in bulk: reorders, positions and alert states one statement each, events in order."""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import text

from shared.db.uow import UnitOfWork
from shared.events.envelope import make_envelope
from shared.events.topics import POLICY_ALERTS, REORDERS
from shared.observability.metrics import ALERTS, DECISIONS

if TYPE_CHECKING:
    from services.policy.decide import Decided


async def write_decisions(uow: UnitOfWork, decided: list[Decided]) -> None:
    """Store the pass; its events go to the outbox in the order one-key-at-a-time would have queued them
    (each key's reorder, then its alert changes)."""
    reorders = [d.reorder for d in decided if d.reorder is not None]
    await _insert_reorders(uow, reorders)
    events, states = [], {}
    for d in decided:
        if d.reorder is not None:
            events.append(_event(uow, REORDERS, f"{d.reorder.location}:{d.reorder.sku}", "replenish.policy.reorder",
                                 d.reorder.decided_at, _fields(d.reorder), f"reorder:{d.reorder.reorder_id}"))
            DECISIONS.labels(d.reorder.kind).inc()
        for alert in d.alerts:
            data = _fields(alert)
            data["category"] = d.category
            events.append(_event(uow, POLICY_ALERTS, alert.key, "replenish.alert", alert.occurred_at, data))
            states[alert.key] = alert.state()
            ALERTS.labels(alert.type, alert.severity).inc()
    await uow.publish_many(events)
    await _upsert_alert_states(uow, states)
    await _upsert_positions(uow, decided)


def _fields(decision: Any) -> dict[str, Any]:
    return jsonable({k: getattr(decision, k) for k in decision.__dataclass_fields__})


def _event(uow: UnitOfWork, topic: str, key: str, type_: str, time: datetime, data: dict[str, Any],
           id_: str | None = None) -> dict[str, Any]:
    """An outbox row as UnitOfWork.publish writes it, without headers (SQL NULL, not a JSON null)."""
    env = make_envelope(source=uow.source, type=type_, time=time, data=data, subject=key, id=id_)
    return {"topic": topic, "key": key, "payload": env.to_bytes()}


async def _insert_reorders(uow: UnitOfWork, reorders: list[Any]) -> None:
    if not reorders:
        return
    await uow.session.execute(text(
        "INSERT INTO policy.reorders (reorder_id, location, sku, kind, quantity, decided_at, status, payload) "
        "SELECT v.id, v.location, v.sku, v.kind, v.quantity, v.decided_at, 'open', CAST(v.payload AS jsonb) "
        "FROM unnest(CAST(:ids AS text[]), CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:kinds AS text[]), "
        "CAST(:qty AS float8[]), CAST(:ats AS timestamptz[]), CAST(:payloads AS text[])) "
        "AS v(id, location, sku, kind, quantity, decided_at, payload)"),
        {"ids": [r.reorder_id for r in reorders], "locs": [r.location for r in reorders],
         "skus": [r.sku for r in reorders], "kinds": [r.kind for r in reorders],
         "qty": [float(r.quantity) for r in reorders], "ats": [r.decided_at for r in reorders],
         "payloads": [json.dumps(_fields(r)) for r in reorders]})


async def _upsert_alert_states(uow: UnitOfWork, states: dict[str, Any]) -> None:
    if not states:
        return
    keys = list(states)
    await uow.session.execute(text(
        "INSERT INTO policy.alert_states (key, status, severity, since) "
        "SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:statuses AS text[]), CAST(:severities AS text[]), "
        "CAST(:sinces AS timestamptz[])) ON CONFLICT (key) DO UPDATE SET status = excluded.status, "
        "severity = excluded.severity, since = excluded.since"),
        {"keys": keys, "statuses": [states[k].status for k in keys],
         "severities": [states[k].severity for k in keys], "sinces": [states[k].since for k in keys]})


async def _upsert_positions(uow: UnitOfWork, decided: list[Decided]) -> None:
    await uow.session.execute(text(
        "INSERT INTO policy.positions (location, sku, status, as_of, data) "
        "SELECT v.location, v.sku, v.status, v.as_of, CAST(v.data AS jsonb) FROM unnest(CAST(:locs AS text[]), "
        "CAST(:skus AS text[]), CAST(:statuses AS text[]), CAST(:ats AS timestamptz[]), CAST(:data AS text[])) "
        "AS v(location, sku, status, as_of, data) ON CONFLICT (location, sku) DO UPDATE SET "
        "status = excluded.status, as_of = excluded.as_of, data = excluded.data"),
        {"locs": [d.position.location for d in decided], "skus": [d.position.sku for d in decided],
         "statuses": [d.position.status for d in decided], "ats": [d.position.as_of for d in decided],
         "data": [json.dumps(d.stored) for d in decided]})


def jsonable(value: Any) -> Any:
    """Plain JSON values: dates as ISO text, numpy as Python numbers, non-finite floats as null."""
    # exact-type fast path for what explanations are made of (a position holds ~60 values); subclasses
    # (numpy scalars are floats too) take the general path below
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {k: jsonable(v) for k, v in value.items()}
    return _general(value)


def _general(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
