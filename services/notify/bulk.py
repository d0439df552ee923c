"""Set-based writes of one dispatcher pass: deliveries with their members, groups, dirty flags, one statement each.

Each statement takes its rows as arrays (unnest) through `text`, so its SQL is the same whatever the number of
rows: PostgreSQL and asyncpg prepare it once, and a pass over 100 alerts costs the round trips of a pass over 1.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain import AlertState

_DELIVERY_COLUMNS = ("id", "idempotency_key", "target", "receiver", "url", "channel", "occasion", "title", "body",
                     "status", "attempts", "next_attempt_at", "created_at", "at")
_DELIVERY_TYPES = ("text", "text", "int", "text", "text", "text", "text", "text", "text", "text", "int",
                   "timestamptz", "timestamptz", "timestamptz")

# The delivery rows whose key was new are inserted and RETURNed; their member rows go in with them (a data-
# modifying CTE always runs), so "existing keys are skipped" holds for the message and its members alike.
ADD_DELIVERIES = text(
    "WITH added AS ("
    f" INSERT INTO notify.deliveries ({', '.join(_DELIVERY_COLUMNS)})"
    " SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in zip(_DELIVERY_COLUMNS, _DELIVERY_TYPES, strict=True))
    + ") ON CONFLICT DO NOTHING RETURNING id),"
    " members AS ("
    " INSERT INTO notify.delivery_alerts (delivery_id, alert_id, alert_key, revision)"
    " SELECT m.delivery_id, m.alert_id, m.alert_key, m.revision"
    " FROM unnest(CAST(:m_delivery AS text[]), CAST(:m_alert AS text[]), CAST(:m_key AS text[]),"
    " CAST(:m_revision AS int[])) AS m(delivery_id, alert_id, alert_key, revision)"
    " JOIN added ON added.id = m.delivery_id ON CONFLICT DO NOTHING)"
    " SELECT id FROM added")

SAVE_GROUPS = text(
    "INSERT INTO notify.groups (key, state, updated_at)"
    " SELECT k, CAST(s AS jsonb), now() FROM unnest(CAST(:keys AS text[]), CAST(:states AS text[])) AS g(k, s)"
    " ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at")

DROP_GROUPS = text("DELETE FROM notify.groups WHERE key = ANY(CAST(:keys AS text[]))")

# Only where the alert did not change since the pass read it: a newer change stays flagged for the next pass.
CLEAR_DIRTY = text(
    "UPDATE notify.alerts AS a SET needs_dispatch = false"
    " FROM unnest(CAST(:ids AS text[]), CAST(:seen AS timestamptz[])) AS s(id, updated_at)"
    " WHERE a.id = s.id AND a.updated_at = s.updated_at")


async def add_deliveries(session: AsyncSession, claims: Iterable[tuple[Mapping[str, Any], list[AlertState]]]
                         ) -> set[str]:
    """Claim many delivery keys at once; the ids of the rows that were new (the others were decided before)."""
    rows: dict[str, tuple[Mapping[str, Any], list[AlertState]]] = {}
    for row, members in claims:
        rows.setdefault(row["id"], (row, members))  # within a pass, as across passes: the first claim wins
    if not rows:
        return set()
    params: dict[str, list[Any]] = {c: [row[c] for row, _ in rows.values()] for c in _DELIVERY_COLUMNS}
    pairs = [(row["id"], a) for row, members in rows.values() for a in members]
    params.update(m_delivery=[i for i, _ in pairs], m_alert=[a.id for _, a in pairs],
                  m_key=[a.key for _, a in pairs], m_revision=[a.revision for _, a in pairs])
    return {r[0] for r in await session.execute(ADD_DELIVERIES, params)}


async def save_groups(session: AsyncSession, changed: Mapping[str, dict[str, Any] | None]) -> None:
    """Write the pass's changed groups: one upsert for the kept, one delete for the forgotten (None)."""
    kept = {key: state for key, state in changed.items() if state is not None}
    dropped = [key for key, state in changed.items() if state is None]
    if kept:
        await session.execute(SAVE_GROUPS, {"keys": list(kept),
                                            "states": [json.dumps(s, separators=(",", ":")) for s in kept.values()]})
    if dropped:
        await session.execute(DROP_GROUPS, {"keys": dropped})


async def clear_dirty(session: AsyncSession, seen: Iterable[tuple[str, datetime]]) -> None:
    pairs = list(seen)
    if pairs:
        await session.execute(CLEAR_DIRTY, {"ids": [i for i, _ in pairs], "seen": [at for _, at in pairs]})


SET_OUTCOMES = text(
    "UPDATE notify.deliveries AS d SET status = u.status, at = :at, next_attempt_at = u.next_attempt_at,"
    " last_error = u.last_error"
    " FROM unnest(CAST(:ids AS text[]), CAST(:statuses AS text[]), CAST(:next_at AS timestamptz[]),"
    " CAST(:errors AS text[])) AS u(id, status, next_attempt_at, last_error)"
    " WHERE d.id = u.id")

MEMBERS_OF = text(
    "SELECT delivery_id, alert_id, alert_key, revision FROM notify.delivery_alerts"
    " WHERE delivery_id = ANY(CAST(:ids AS text[])) ORDER BY delivery_id, alert_id")


async def set_outcomes(session: AsyncSession, outcomes: list[tuple[str, str, datetime | None, str | None]],
                       *, at: datetime) -> None:
    """Send outcomes of many deliveries: (id, status, next_attempt_at, last_error) each, one statement."""
    if outcomes:
        ids, statuses, next_at, errors = (list(column) for column in zip(*outcomes, strict=True))
        await session.execute(SET_OUTCOMES, {"ids": ids, "statuses": statuses, "next_at": next_at,
                                             "errors": errors, "at": at})


async def members_of(session: AsyncSession, delivery_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The alerts each delivery carried (alert_id, alert_key, revision), for many deliveries at once."""
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for row in (await session.execute(MEMBERS_OF, {"ids": delivery_ids})).mappings():
            found[row["delivery_id"]].append(dict(row))
    return found
