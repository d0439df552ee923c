"""Closing proposed POs for consolidation (submit, then send the approved), and the event clock's closed days.

Policy publishes a location's reorders of day D, then a `day_closed` marker (stream "policy") on every
partition of the reorder topic. Once orders holds that marker from every partition, every reorder of D has
been consumed: every proposed PO of the location created (event time) on or before D's end is closed for
consolidation and submitted (approved by the rules and sent, or pending approval), in the marker's
transaction, and D is recorded as decided (`decided_through`, docs/contract.md §10). Markers of other streams (ingest's
on the stock topic) tell orders nothing and are ignored.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.orders import repository as repo
from services.orders.domain import ApprovalRules, PurchaseOrder, known_timezone, send, submit
from services.orders.domain.model import APPROVED
from services.orders.handlers import commit_change, request_delivery
from services.orders.settings import OrdersSettings
from shared.clock import Clock
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import DayMark, day_end
from shared.events.topics import REORDERS

STREAM = "policy"


async def dispatch_po(uow: UnitOfWork, po: PurchaseOrder, now: datetime) -> PurchaseOrder:
    """approved -> sent: `sent` means handed to delivery (a push queued, an email requested)."""
    sent, entry = send(po, now)
    channel = await request_delivery(uow, sent, now)
    if channel == "none":
        sent = replace(sent, delivery_status="none")  # an internal transfer: nothing is pushed or mailed
    await commit_change(uow, po, sent, [entry], now)
    return sent


async def close_po(uow: UnitOfWork, po: PurchaseOrder, rules: ApprovalRules, now: datetime) -> PurchaseOrder:
    """Close a proposed PO for consolidation: approved by the rules (then sent) or pending approval."""
    current, entry = submit(po, rules, now)
    await commit_change(uow, po, current, [entry], now)
    if current.status == APPROVED:
        current = await dispatch_po(uow, current, now)
    return current


async def on_day_closed(uow: UnitOfWork, env: Envelope, cfg: OrdersSettings, clock: Clock) -> None:
    """Store policy's marker for its partition; close whatever days of the location it completes."""
    try:
        mark = DayMark.from_data(env.data)
    except (KeyError, TypeError, ValueError):
        return  # not a marker orders can read: like any unknown event, nothing to do
    if mark.stream != STREAM:
        return
    await repo.record_mark(uow.session, mark, mark.topic or REORDERS)
    await close_days(uow, mark.location, cfg, clock)


async def close_days(uow: UnitOfWork, location: str, cfg: OrdersSettings, clock: Clock) -> list[PurchaseOrder]:
    """Close each newly complete day of the location, in order; returns the POs closed."""
    session = uow.session
    tz = known_timezone(await repo.location_timezone(session, location))
    last = await repo.last_decided(session, location)
    closed: list[PurchaseOrder] = []
    for day in await repo.closed_days(session, STREAM, [REORDERS], location, last):
        end = day_end(day, tz)
        clock.observe(end)
        # Under the event clock the day's close is stamped at its end, not at whatever later event time a
        # faster partition already brought: sent_at (and so the supplier lead time learned from it) must not
        # depend on timing. On the wall clock it is now.
        at = end if clock.is_event else clock.now()
        for po in await repo.proposed_at(session, location, end):
            closed.append(await close_po(uow, po, cfg.approval_rules, at))
        await repo.record_decided(session, location, day, tz)
    return closed
