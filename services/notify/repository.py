"""Async repositories of the notify schema: alerts as domain AlertState, silences, deliveries, groups."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain import AlertState, HistoryEntry, Silence, parse_matcher
from services.notify.models import alerts, deliveries, delivery_alerts, groups, po_emails, silences

STATE_FIELDS = (
    "id", "key", "type", "severity", "status", "summary", "first_fired_at", "last_fired_at", "last_event_at",
    "explanation", "labels", "sku", "location", "supplier_id", "category", "po_id", "value_at_risk",
    "revision", "fire_count", "resolved_at", "acked_by", "acked_at", "ack_comment", "escalation_started_at",
)


# --- alerts -------------------------------------------------------------------------------------------

def history_json(entries: Iterable[HistoryEntry]) -> list[dict[str, Any]]:
    return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "comment": e.comment}
            for e in entries]


def to_state(row: Mapping[str, Any]) -> AlertState:
    values = {name: row[name] for name in STATE_FIELDS}
    history = tuple(HistoryEntry(datetime.fromisoformat(h["at"]), h["actor"], h["action"], h.get("comment"))
                    for h in row["history"])
    sent = frozenset((int(c), int(s)) for c, s in row["escalations_sent"])
    return AlertState(**values, history=history, escalations_sent=sent)


def to_row(state: AlertState) -> dict[str, Any]:
    row = {name: getattr(state, name) for name in STATE_FIELDS}
    row["explanation"] = dict(state.explanation)
    row["labels"] = dict(state.labels)
    row["history"] = history_json(state.history)
    row["escalations_sent"] = sorted([c, s] for c, s in state.escalations_sent)
    return row


async def alert_by_key(session: AsyncSession, key: str, *, lock: bool = False) -> AlertState | None:
    stmt = select(alerts).where(alerts.c.key == key)
    row = (await session.execute(stmt.with_for_update() if lock else stmt)).mappings().first()
    return to_state(row) if row else None


async def alert_row(session: AsyncSession, alert_id: str, *, lock: bool = False) -> Mapping[str, Any] | None:
    stmt = select(alerts).where(alerts.c.id == alert_id)
    return (await session.execute(stmt.with_for_update() if lock else stmt)).mappings().first()


async def save_alert(session: AsyncSession, state: AlertState, *, dispatch: bool) -> None:
    """Insert or update the alert; `dispatch` flags it for the dispatcher (never clears a pending flag)."""
    row = {**to_row(state), "needs_dispatch": dispatch, "updated_at": func.clock_timestamp()}
    changes = {k: v for k, v in row.items() if k not in ("id", "key", "needs_dispatch")}
    changes["needs_dispatch"] = alerts.c.needs_dispatch | dispatch
    stmt = pg_insert(alerts).values(**row).on_conflict_do_update(index_elements=[alerts.c.key], set_=changes)
    await session.execute(stmt)


async def list_alerts(session: AsyncSession, filters: Mapping[str, str | None], *, limit: int = 500,
                      before: tuple[datetime, str] | None = None) -> list[Mapping[str, Any]]:
    """Newest fired first; `before` (last_fired_at, id) continues after the last alert of a previous page."""
    stmt = select(alerts)
    for name, value in filters.items():
        if value:
            stmt = stmt.where(alerts.c[name] == value)
    if before is not None:
        stmt = stmt.where(tuple_(alerts.c.last_fired_at, alerts.c.id) < tuple_(literal(before[0]), literal(before[1])))
    stmt = stmt.order_by(alerts.c.last_fired_at.desc(), alerts.c.id.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())


async def dirty_alerts(session: AsyncSession, *, limit: int = 500) -> list[Mapping[str, Any]]:
    stmt = select(alerts).where(alerts.c.needs_dispatch).order_by(alerts.c.updated_at).limit(limit)
    return list((await session.execute(stmt)).mappings())


async def redispatch_suppressed(session: AsyncSession, occasions: list[str]) -> None:
    """Flag open alerts whose current revision was held back for one of these reasons (a silence that
    ended, an inhibiting alert that resolved): they are routed again and reach receivers now."""
    if not occasions:
        return
    held = (select(delivery_alerts.c.alert_id)
            .join(deliveries, deliveries.c.id == delivery_alerts.c.delivery_id)
            .where(and_(deliveries.c.occasion.in_(occasions), delivery_alerts.c.alert_id == alerts.c.id,
                        delivery_alerts.c.revision == alerts.c.revision)))
    await session.execute(update(alerts).where(and_(alerts.c.status != "resolved", held.exists()))
                          .values(needs_dispatch=True, updated_at=func.clock_timestamp()))


async def alerts_by_ids(session: AsyncSession, ids: Iterable[str]) -> dict[str, AlertState]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = (await session.execute(select(alerts).where(alerts.c.id.in_(wanted)))).mappings()
    return {row["id"]: to_state(row) for row in rows}


async def firing_alerts(session: AsyncSession) -> list[AlertState]:
    stmt = select(alerts).where(and_(alerts.c.status == "firing", alerts.c.escalation_started_at.is_not(None)))
    return [to_state(row) for row in (await session.execute(stmt)).mappings()]


# --- silences -----------------------------------------------------------------------------------------

def to_silence(row: Mapping[str, Any]) -> Silence:
    return Silence(id=row["id"], matchers=tuple(parse_matcher(m) for m in row["matchers"]),
                   starts_at=row["starts_at"], ends_at=row["ends_at"], reason=row["reason"],
                   created_by=row["created_by"])


async def add_silence(session: AsyncSession, silence: Silence) -> None:
    await session.execute(silences.insert().values(
        id=silence.id, matchers=[str(m) for m in silence.matchers], starts_at=silence.starts_at,
        ends_at=silence.ends_at, reason=silence.reason, created_by=silence.created_by))


async def list_silences(session: AsyncSession, *, now: datetime | None = None) -> list[Mapping[str, Any]]:
    """Not deleted; with `now`, only those still in force or yet to start."""
    stmt = select(silences).where(silences.c.deleted_at.is_(None))
    if now is not None:
        stmt = stmt.where(silences.c.ends_at > now)
    return list((await session.execute(stmt.order_by(silences.c.starts_at))).mappings())


async def active_silences(session: AsyncSession, now: datetime) -> list[Silence]:
    return [to_silence(row) for row in await list_silences(session, now=now)]


async def expire_silence(session: AsyncSession, silence_id: str, now: datetime) -> bool:
    stmt = (update(silences).where(and_(silences.c.id == silence_id, silences.c.deleted_at.is_(None)))
            .values(deleted_at=now).returning(silences.c.id))
    return (await session.execute(stmt)).first() is not None


# --- deliveries ---------------------------------------------------------------------------------------

async def due_deliveries(session: AsyncSession, now: datetime, *, limit: int) -> list[Mapping[str, Any]]:
    stmt = (select(deliveries).where(and_(deliveries.c.status.in_(("pending", "sending")),
                                          deliveries.c.next_attempt_at <= now))
            .order_by(deliveries.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    return list((await session.execute(stmt)).mappings())


async def update_delivery(session: AsyncSession, delivery_id: str, **values: Any) -> None:
    await session.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


async def deliveries_of(session: AsyncSession, alert_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Delivery log per alert: channel, status, attempts, at (oldest first)."""
    if not alert_ids:
        return {}
    stmt = (select(delivery_alerts.c.alert_id, deliveries.c.receiver, deliveries.c.channel,
                   deliveries.c.status, deliveries.c.attempts, deliveries.c.at, deliveries.c.occasion,
                   delivery_alerts.c.revision)
            .join(deliveries, deliveries.c.id == delivery_alerts.c.delivery_id)
            .where(delivery_alerts.c.alert_id.in_(alert_ids)).order_by(deliveries.c.created_at))
    log: dict[str, list[dict[str, Any]]] = {a: [] for a in alert_ids}
    for row in (await session.execute(stmt)).mappings():
        entry = dict(row)
        log[entry.pop("alert_id")].append(entry)
    return log


# --- groups -------------------------------------------------------------------------------------------

async def load_groups(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = (await session.execute(select(groups.c.key, groups.c.state))).all()
    return {key: state for key, state in rows}


# --- purchase-order emails ----------------------------------------------------------------------------

async def add_po_email(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Claim the PO revision's key; False when it exists already (a redelivered request)."""
    stmt = pg_insert(po_emails).values(**row).on_conflict_do_nothing().returning(po_emails.c.idempotency_key)
    return (await session.execute(stmt)).first() is not None


async def reopen_po_email(session: AsyncSession, key: str, row: dict[str, Any]) -> bool:
    """Start a new round of attempts for an email that finally failed or was suppressed; False otherwise."""
    result = await session.execute(
        update(po_emails).where(po_emails.c.idempotency_key == key,
                                po_emails.c.status.in_(("failed", "suppressed")))
        .values(status=row["status"], reason=row["reason"], attempts=0, at=row["at"], last_error=None,
                next_attempt_at=row["next_attempt_at"], recipient=row["recipient"])
        .returning(po_emails.c.idempotency_key))
    return result.first() is not None


async def due_po_emails(session: AsyncSession, now: datetime, *, limit: int) -> list[Mapping[str, Any]]:
    stmt = (select(po_emails).where(and_(po_emails.c.status.in_(("pending", "sending")),
                                         po_emails.c.next_attempt_at <= now))
            .order_by(po_emails.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    return list((await session.execute(stmt)).mappings())


async def update_po_email(session: AsyncSession, key: str, **values: Any) -> None:
    await session.execute(update(po_emails).where(po_emails.c.idempotency_key == key).values(**values))


async def list_po_emails(session: AsyncSession, *, po_id: str | None = None, status: str | None = None,
                         limit: int = 500) -> list[Mapping[str, Any]]:
    stmt = select(*[c for c in po_emails.c if c.name != "content"])
    if po_id:
        stmt = stmt.where(po_emails.c.po_id == po_id)
    if status:
        stmt = stmt.where(po_emails.c.status == status)
    stmt = stmt.order_by(po_emails.c.created_at.desc()).limit(limit)
    return list((await session.execute(stmt)).mappings())
