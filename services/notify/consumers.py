"""Notify's consumer: the three alert topics (one schema) into the alert handler."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event

from services.notify.handlers import on_alert
from shared.bus.consumer import Handler
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import ALERT_TOPICS

TOPICS = list(ALERT_TOPICS)


def make_dispatch(on_committed: Callable[[], None]) -> Handler:
    """The consumer handler; `on_committed` runs after the batch commits when an alert needs dispatching,
    so the dispatcher starts at once instead of at its next tick."""

    async def dispatch(uow: UnitOfWork, env: Envelope) -> None:
        if await on_alert(uow, env):
            event.listen(uow.session.sync_session, "after_commit", lambda _session: on_committed(), once=True)

    return dispatch
