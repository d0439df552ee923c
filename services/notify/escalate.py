"""Escalation pass: unacknowledged firing alerts reach each step of their route's policy, once per step."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from services.notify import repository as repo
from services.notify.config import NotifyConfig, Receiver
from services.notify.context import load_context
from services.notify.domain import (
    AlertState,
    alert_labels,
    delivery_key,
    escalation_due,
    mark_escalated,
    route,
)
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)
DROPPED = ("silenced", "inhibited", "muted")


class Dispatcher(Protocol):
    """What escalation needs of the dispatcher (dispatcher.py, which calls `escalate`): queue one message."""

    async def enqueue(self, uow: UnitOfWork, receiver: Receiver, alerts: list[AlertState], *, idem: str,
                      occasion: str, now: datetime) -> int: ...


async def escalate(uow: UnitOfWork, dispatcher: Dispatcher, config: NotifyConfig, now: datetime) -> int:
    """Send the due steps; a silenced or inhibited alert has its steps marked done without a page."""
    if not config.escalation_policies:
        return 0
    candidates = await repo.firing_alerts(uow.session)
    if not candidates:
        return 0
    due = []
    for alert in candidates:
        name = next((m.escalation for m in route(alert_labels(alert), config) if m.escalation), None)
        if name is not None and escalation_due(alert, config.escalation_policy(name), now):
            due.append((alert, name))
    if not due:
        return 0
    context = await load_context(uow, now)
    await context.prepare([alert for alert, _ in due], config, now)  # one inhibition query for all of them
    sent = 0
    for alert, name in due:
        found = await context.targets(alert, config, now)
        holds = {t.held_by for t in found}
        if holds == {"quiet_hours"}:
            continue  # wait for the quiet hours to end
        locked = await repo.alert_row(uow.session, alert.id, lock=True)
        if locked is None:
            continue
        sent += await _escalate_one(uow, dispatcher, repo.to_state(locked), config, name, now,
                                    muted=bool(holds) and holds <= set(DROPPED))
    return sent


async def _escalate_one(uow: UnitOfWork, dispatcher: Dispatcher, alert: AlertState, config: NotifyConfig,
                        policy_name: str, now: datetime, *, muted: bool) -> int:
    due = escalation_due(alert, config.escalation_policy(policy_name), now)  # re-read under the row lock
    if not due:
        return 0
    sent = 0
    for step in due if not muted else []:
        for name in step.receivers:
            receiver = config.receiver(name)
            idem = delivery_key(alert.id, alert.revision, name, occasion=step.occasion)
            sent += await dispatcher.enqueue(uow, receiver, [alert], idem=idem, occasion=step.occasion, now=now)
    await repo.save_alert(uow.session, mark_escalated(alert, due, now), dispatch=False)
    log.info("alert %s escalated (%s)", alert.key, ", ".join(d.occasion for d in due))
    return sent
