"""Closing proposed POs for consolidation (submit, then send the approved), and the event clock's closed days.

Policy publishes a location's reorders of day D, then a `day_closed` marker (stream "policy") on every
partition of the reorder topic. Once orders holds that marker from every partition, every reorder of D has
been consumed: every proposed PO of the location created (event time) on or before D's end is closed for
consolidation and submitted (approved by the rules and sent, or pending approval), in the marker's
transaction, and D is recorded as decided (`decided_through`, docs/contract.md §10).

Ingest's markers on the stock topic: once orders holds D's from every partition, it has consumed every stock
event of D and, more to the point, committed every PO change made before the world moved on to D (a planner's
approval or cancellation, a supplier's shipment). It then puts its own marker for D (stream "orders") on every
partition of the purchase-orders topic, after those changes, and policy decides D only once it holds it: what
policy counts on order for D never depends on which topic it happened to read first (docs/clock.md).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from services.orders import repository as repo
from services.orders.domain import ApprovalRules, PurchaseOrder, known_timezone, send, submit
from services.orders.domain.model import APPROVED
from services.orders.handlers import commit_change, request_delivery
from services.orders.settings import OrdersSettings
from shared.clock import Clock
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.markers import DayMark, day_end
from shared.events.topics import PURCHASE_ORDERS, REORDERS, STOCK

STREAM = "policy"
INGEST = "ingest"
ACKNOWLEDGED = "orders"  # orders' own marker on the purchase-orders topic


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
    if mark.stream == INGEST and (mark.topic or STOCK) == STOCK:
        await acknowledge_day(uow, mark)
        return
    if mark.stream != STREAM:
        return
    await repo.record_mark(uow.session, mark, mark.topic or REORDERS)
    await close_days(uow, mark.location, cfg, clock)


async def acknowledge_day(uow: UnitOfWork, mark: DayMark) -> None:
    """Store ingest's marker; the one that completes its day publishes orders' marker for that day (once: a
    redelivered marker stores nothing, and the marker's id is deterministic)."""
    if not await repo.record_mark(uow.session, mark, STOCK):
        return
    if mark.day not in await repo.closed_days(uow.session, INGEST, [STOCK], mark.location,
                                              mark.day - timedelta(days=1)):
        return
    tz = known_timezone(await repo.location_timezone(uow.session, mark.location))
    await uow.publish_marker(PURCHASE_ORDERS, stream=ACKNOWLEDGED, location=mark.location, day=mark.day,
                             time=day_end(mark.day, tz))


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
