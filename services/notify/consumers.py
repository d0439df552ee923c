"""Notify's consumer: the three alert topics (one schema) into the alert handler."""
from __future__ import annotations

from services.notify.handlers import on_alert
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import ALERT_TOPICS

TOPICS = list(ALERT_TOPICS)


async def dispatch(uow: UnitOfWork, env: Envelope) -> None:
    await on_alert(uow, env)
