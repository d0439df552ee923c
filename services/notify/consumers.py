"""Notify's consumers: the three alert topics (one schema) into the alert handler; PO email requests."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import event

from services.notify.config import PoEmail
from services.notify.handlers import ALERT_TYPE, on_alert
from services.notify.po_email import PO_EMAIL_TYPE, on_po_email
from shared.bus.consumer import Handler
from shared.bus.types import EventTypes
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import DAY_CLOSED
from shared.events.topics import ALERT_TOPICS, PURCHASE_ORDERS

TOPICS = list(ALERT_TOPICS)
PO_TOPICS = [PURCHASE_ORDERS]
# The alert topics carry alerts only; the purchase-orders topic also carries PO snapshots (orders' read model,
# not ours) and orders' day markers (for policy). Any other type is dead-lettered.
ALERT_TYPES = EventTypes(handles={ALERT_TYPE})
PO_EMAIL_TYPES = EventTypes(handles={PO_EMAIL_TYPE}, skips={"replenish.orders.purchase_order", DAY_CLOSED})


def _after_commit(uow: UnitOfWork, callback: Callable[[], None]) -> None:
    event.listen(uow.session.sync_session, "after_commit", lambda _session: callback(), once=True)


def make_dispatch(on_committed: Callable[[], None],
                  flap_window: Callable[[], timedelta] = lambda: timedelta(0)) -> Handler:
    """The consumer handler; `on_committed` runs after the batch commits when an alert needs dispatching,
    so the dispatcher starts at once instead of at its next tick. `flap_window` reads the live config."""

    async def dispatch(uow: UnitOfWork, env: Envelope) -> None:
        if await on_alert(uow, env, flap_window=flap_window()):
            _after_commit(uow, on_committed)

    return dispatch


def make_po_email(on_committed: Callable[[], None], config: Callable[[], PoEmail | None]) -> Handler:
    """PO email requests on the purchase-orders topic (PO snapshots there are not ours and are skipped)."""

    async def handle(uow: UnitOfWork, env: Envelope) -> None:
        if await on_po_email(uow, env, config=config()):
            _after_commit(uow, on_committed)

    return handle
