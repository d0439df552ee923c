"""Acknowledge links (§11): issued with a message, shown, and used once by whoever holds the message."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify import repository as repo
from services.notify.domain import AlertState, acknowledge
from services.notify.models import ack_links
from shared.db.uow import UnitOfWork

VALID_FOR = timedelta(hours=24)
TOKEN_BYTES = 16  # 128 bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(session: AsyncSession, alerts: Sequence[AlertState], receiver: str, now: datetime) -> dict[str, str]:
    """One new token per firing alert of a message, bound to its revision and to the receiver."""
    tokens, rows = {}, []
    for alert in alerts:
        if alert.status != "firing":
            continue
        token = secrets.token_urlsafe(TOKEN_BYTES)
        tokens[alert.id] = token
        rows.append({"token_hash": token_hash(token), "alert_id": alert.id, "revision": alert.revision,
                     "receiver": receiver, "created_at": now,
                     "expires_at": now + VALID_FOR})
    if rows:
        await session.execute(insert(ack_links), rows)
    return tokens


def state_of(link: dict[str, Any], alert: AlertState, now: datetime) -> str:
    """usable, or why not: used, expired, acknowledged, resolved, refired (a later episode of the alert)."""
    if link["used_at"] is not None:
        return "used"
    if link["expires_at"] <= now:
        return "expired"
    if alert.revision != link["revision"] and _refired_since(alert, link["created_at"]):
        return "refired"
    if alert.status != "firing":
        return alert.status
    return "usable"


def _refired_since(alert: AlertState, issued_at: datetime) -> bool:
    """A later episode: resolved and fired again after the link went out. A severity change re-notifies
    (a new revision) yet is the same episode, so the first message's link still acknowledges it."""
    return any(entry.action == "refired" and entry.at > issued_at for entry in alert.history)


def view(link: dict[str, Any], alert: AlertState, now: datetime) -> dict[str, Any]:
    """What the confirm page shows: enough to recognise the alert, nothing of the link's binding secrets."""
    return {"state": state_of(link, alert, now), "receiver": link["receiver"],
            "expires_at": link["expires_at"].isoformat(),
            "alert": {"id": alert.id, "type": alert.type, "severity": alert.severity, "status": alert.status,
                      "summary": alert.summary, "sku": alert.sku, "location": alert.location,
                      "supplier_id": alert.supplier_id, "last_fired_at": alert.last_fired_at.isoformat(),
                      "acked_by": alert.acked_by,
                      "acked_at": alert.acked_at.isoformat() if alert.acked_at else None}}


async def _find(session: AsyncSession, token: str, *, lock: bool) -> tuple[dict[str, Any], AlertState] | None:
    stmt = select(ack_links).where(ack_links.c.token_hash == token_hash(token))
    found = (await session.execute(stmt.with_for_update() if lock else stmt)).mappings().first()
    if found is None:
        return None
    row = await repo.alert_row(session, found["alert_id"], lock=lock)
    return (dict(found), repo.to_state(row)) if row is not None else None


async def show(uow: UnitOfWork, token: str, now: datetime) -> dict[str, Any] | None:
    found = await _find(uow.session, token, lock=False)
    return view(*found, now) if found else None


async def use(uow: UnitOfWork, token: str, comment: str | None, now: datetime) -> dict[str, Any] | None:
    """Acknowledge as `link:<receiver>` when the link is usable, and spend it; otherwise change nothing and
    answer the state. None for a token nobody issued."""
    found = await _find(uow.session, token, lock=True)
    if found is None:
        return None
    link, alert = found
    if state_of(link, alert, now) != "usable":
        return view(link, alert, now)
    change = acknowledge(alert, actor=f"link:{link['receiver']}", comment=comment, now=now)
    if change.action is not None:
        await repo.save_alert(uow.session, change.state, dispatch=True)
    await uow.session.execute(update(ack_links).where(ack_links.c.token_hash == link["token_hash"])
                              .values(used_at=now))
    answer = view({**link, "used_at": now}, change.state, now)
    answer["state"] = "acknowledged"
    return answer
