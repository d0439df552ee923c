"""Writes of a decider pass in bulk: reorders, alert states and positions in one statement, events in order."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import text

from services.policy.domain.model import AlertDecision, Position, ReorderDecision
from shared.db.uow import UnitOfWork
from shared.events.envelope import make_envelope
from shared.events.topics import POLICY_ALERTS, REORDERS
from shared.observability.metrics import ALERTS, DECISIONS


@dataclass(frozen=True)
class Decided:
    """One key's decision (made by decide.py): its position (as stored) and what to emit."""

    position: Position
    stored: dict[str, Any]
    reorder: ReorderDecision | None
    alerts: list[AlertDecision]
    category: str | None


async def write_decisions(uow: UnitOfWork, decided: list[Decided]) -> None:
    """Store the pass in one statement; its events go to the outbox in the order one-key-at-a-time would
    have queued them (each key's reorder, then its alert changes)."""
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
    await uow.session.execute(text(WRITE_PASS), {
        **_reorder_arrays([d.reorder for d in decided if d.reorder is not None]),
        **_state_arrays(states), **_position_arrays(decided)})
    await uow.publish_many(events)


# Reorders (a plain insert: an id taken meanwhile by another replica fails the pass, which then decides its
# keys one at a time), alert states, positions and their levels of the day; the tables are written independently
# of each other.
WRITE_PASS = """
WITH new_reorders AS (
  INSERT INTO policy.reorders (reorder_id, location, sku, kind, quantity, decided_at, status, payload)
  SELECT v.id, v.location, v.sku, v.kind, v.quantity, v.decided_at, 'open', CAST(v.payload AS jsonb)
  FROM unnest(CAST(:r_ids AS text[]), CAST(:r_locs AS text[]), CAST(:r_skus AS text[]), CAST(:r_kinds AS text[]),
    CAST(:r_qty AS float8[]), CAST(:r_ats AS timestamptz[]), CAST(:r_payloads AS text[]))
    AS v(id, location, sku, kind, quantity, decided_at, payload)
), alert_changes AS (
  INSERT INTO policy.alert_states (key, status, severity, since)
  SELECT * FROM unnest(CAST(:a_keys AS text[]), CAST(:a_statuses AS text[]), CAST(:a_severities AS text[]),
    CAST(:a_sinces AS timestamptz[]))
  ON CONFLICT (key) DO UPDATE SET status = excluded.status, severity = excluded.severity, since = excluded.since
), day_levels AS (
  INSERT INTO policy.position_days (location, sku, day, as_of, status, on_hand, reorder_point, order_up_to,
    safety_stock)
  SELECT v.location, v.sku, CAST(v.as_of AT TIME ZONE COALESCE(z.name, 'UTC') AS date), v.as_of, v.status, v.on_hand,
    v.rop, v.s, v.ss
  FROM unnest(CAST(:p_locs AS text[]), CAST(:p_skus AS text[]), CAST(:p_statuses AS text[]),
    CAST(:p_ats AS timestamptz[]), CAST(:p_on_hand AS float8[]), CAST(:p_rop AS float8[]), CAST(:p_s AS float8[]),
    CAST(:p_ss AS float8[])) AS v(location, sku, status, as_of, on_hand, rop, s, ss)
  LEFT JOIN policy.locations loc ON loc.location = v.location
  LEFT JOIN pg_timezone_names z ON z.name = loc.data->>'timezone'
  ON CONFLICT (location, sku, day) DO UPDATE SET as_of = excluded.as_of, status = excluded.status,
    on_hand = excluded.on_hand, reorder_point = excluded.reorder_point, order_up_to = excluded.order_up_to,
    safety_stock = excluded.safety_stock WHERE excluded.as_of >= policy.position_days.as_of
)
INSERT INTO policy.positions (location, sku, status, as_of, data)
SELECT v.location, v.sku, v.status, v.as_of, CAST(v.data AS jsonb)
FROM unnest(CAST(:p_locs AS text[]), CAST(:p_skus AS text[]), CAST(:p_statuses AS text[]),
  CAST(:p_ats AS timestamptz[]), CAST(:p_data AS text[])) AS v(location, sku, status, as_of, data)
ON CONFLICT (location, sku) DO UPDATE SET status = excluded.status, as_of = excluded.as_of, data = excluded.data
"""


def _reorder_arrays(reorders: list[Any]) -> dict[str, list[Any]]:
    return {"r_ids": [r.reorder_id for r in reorders], "r_locs": [r.location for r in reorders],
            "r_skus": [r.sku for r in reorders], "r_kinds": [r.kind for r in reorders],
            "r_qty": [float(r.quantity) for r in reorders], "r_ats": [r.decided_at for r in reorders],
            "r_payloads": [json.dumps(_fields(r)) for r in reorders]}


def _state_arrays(states: dict[str, Any]) -> dict[str, list[Any]]:
    keys = list(states)
    return {"a_keys": keys, "a_statuses": [states[k].status for k in keys],
            "a_severities": [states[k].severity for k in keys], "a_sinces": [states[k].since for k in keys]}


def _position_arrays(decided: list[Decided]) -> dict[str, list[Any]]:
    return {"p_locs": [d.position.location for d in decided], "p_skus": [d.position.sku for d in decided],
            "p_statuses": [d.position.status for d in decided], "p_ats": [d.position.as_of for d in decided],
            "p_data": [json.dumps(d.stored) for d in decided],
            **{f"p_{name}": [float(getattr(d.position, field)) for d in decided]
               for name, field in LEVELS.items()}}


# position_days keeps these per key and local day (the chart's levels over time)
LEVELS = {"on_hand": "on_hand", "rop": "reorder_point", "s": "order_up_to", "ss": "safety_stock"}


def _fields(decision: Any) -> dict[str, Any]:
    return jsonable({k: getattr(decision, k) for k in decision.__dataclass_fields__})


def _event(uow: UnitOfWork, topic: str, key: str, type_: str, time: datetime, data: dict[str, Any],
           id_: str | None = None) -> dict[str, Any]:
    """An outbox row as UnitOfWork.publish writes it, without headers (SQL NULL, not a JSON null)."""
    env = make_envelope(source=uow.source, type=type_, time=time, data=data, subject=key, id=id_)
    return {"topic": topic, "key": key, "payload": env.to_bytes()}


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
