"""Notify use cases: fold alert events into alerts, acknowledge, resolve, add and expire silences."""
from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from services.notify import repository as repo
from services.notify.domain import (
    AlertState,
    InvalidTransition,
    Matcher,
    Silence,
    acknowledge,
    apply_event,
    resolve,
    silence_problems,
)
from shared.bus.consumer import PoisonMessage
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import AlertRaised
from shared.http.errors import ApiError
from shared.observability.metrics import ALERTS

log = logging.getLogger(__name__)
ALERT_TYPE = "replenish.alert"


def alert_id_for(key: str) -> str:
    """Stable id of the alert with this key: the same key always maps to the same URL."""
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def utcnow() -> datetime:
    return datetime.now(UTC)


async def on_alert(uow: UnitOfWork, env: Envelope, *, flap_window: timedelta = timedelta(0)) -> bool:
    """One alert event from any alert topic: update the alert with that key (never a second row).

    True when the dispatcher has something to do once this transaction commits.
    """
    if env.type != ALERT_TYPE:
        log.warning("ignoring event %s of type %s on an alert topic", env.id, env.type)
        return False
    try:
        event = AlertRaised.model_validate(env.data)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid alert: {str(exc)[:300]}") from exc
    current = await repo.alert_by_key(uow.session, event.key, lock=True)
    change = apply_event(current, event.model_dump(), alert_id=alert_id_for(event.key), now=utcnow(),
                         flap_window=flap_window)
    if change.state is None or (change.action is None and change.state == current):
        return False
    dispatch = change.notify or change.action is not None
    await repo.save_alert(uow.session, change.state, dispatch=dispatch)
    ALERTS.labels(event.type, event.severity).inc()
    return dispatch


async def _locked(uow: UnitOfWork, alert_id: str) -> AlertState:
    row = await repo.alert_row(uow.session, alert_id, lock=True)
    if row is None:
        raise ApiError(404, f"no alert {alert_id}")
    return repo.to_state(row)


async def acknowledge_alert(uow: UnitOfWork, alert_id: str, *, actor: str, comment: str | None) -> None:
    """Take ownership (stops escalation). 409 for a resolved alert."""
    state = await _locked(uow, alert_id)
    try:
        change = acknowledge(state, actor=actor, comment=comment, now=utcnow())
    except InvalidTransition as exc:
        raise ApiError(409, str(exc)) from None
    if change.action is not None:
        await repo.save_alert(uow.session, change.state, dispatch=True)


async def resolve_alert(uow: UnitOfWork, alert_id: str, *, actor: str, comment: str | None) -> None:
    """Close by hand; receivers with send_resolved hear about it; the source firing again re-fires it."""
    state = await _locked(uow, alert_id)
    change = resolve(state, actor=actor, comment=comment, now=utcnow())
    if change.action is not None:
        await repo.save_alert(uow.session, change.state, dispatch=True)


async def create_silence(uow: UnitOfWork, *, matchers: list[Matcher], starts_at: datetime | None,
                         ends_at: datetime, reason: str, created_by: str) -> Silence:
    start = starts_at or utcnow()
    problems = silence_problems(matchers, start, ends_at)
    if problems:
        raise ApiError(422, "invalid silence", details=problems)
    silence = Silence(id=str(uuid.uuid4()), matchers=tuple(matchers), starts_at=start, ends_at=ends_at,
                      reason=reason, created_by=created_by)
    await repo.add_silence(uow.session, silence)
    return silence


async def expire_silence(uow: UnitOfWork, silence_id: str) -> None:
    if not await repo.expire_silence(uow.session, silence_id, utcnow()):
        raise ApiError(404, f"no active silence {silence_id}")
