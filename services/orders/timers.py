"""Timed work: close consolidation windows, approve or submit, send approved POs; delay alerts.

The rounds run on a wall-clock period; what is due is judged by the service's Clock (`clock.now()`): wall
time, or event time under REPLENISH_CLOCK=event.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select

from services.orders import repository as repo
from services.orders.closing import close_po, dispatch_po
from services.orders.domain import (
    STATUSES,
    PurchaseOrder,
    next_check_at,
    po_late_alert,
    unresponsive_alert,
)
from services.orders.domain.model import APPROVED, PROPOSED
from services.orders.models import alert_states, day_marks, purchase_orders
from services.orders.settings import OrdersSettings
from shared.clock import Clock
from shared.db.uow import UnitOfWork
from shared.events.topics import ORDERS_ALERTS, AlertRaised
from shared.observability.metrics import PURCHASE_ORDERS
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
PO = purchase_orders.c
ALERT_TYPE = "replenish.alert"


# A proposed PO's first line's location (under the event clock a PO holds one location's lines).
_PO_LOCATION = PO.data["lines"][0]["location"].astext


def _marker_driven():
    """The PO's location is closed by policy's day markers (docs/clock.md): under the event clock its
    windows close only there, since event time brought by another partition or topic does not say that
    every reorder of the window has been consumed."""
    return exists().where(day_marks.c.stream == "policy", day_marks.c.location == _PO_LOCATION)


async def close_windows(runtime: ServiceRuntime, cfg: OrdersSettings, now: datetime, *, event: bool = False) -> int:
    """Every proposed PO past its window is submitted; every approved PO is sent. Returns POs touched.

    `event`: `now` is event time; a location that policy's markers drive is left to them (closing.py).
    """
    cutoff = now - timedelta(seconds=cfg.window_s)
    window_over = and_(PO.status == PROPOSED, PO.created_at <= cutoff)
    if event:
        window_over = and_(window_over, ~_marker_driven())
    due = or_(window_over, PO.status == APPROVED)
    async with runtime.uow() as uow:
        pos = await repo.claim_pos(uow.session, due)
        for po in pos:
            if po.status == PROPOSED:
                await close_po(uow, po, cfg.approval_rules, now)
            else:
                await dispatch_po(uow, po, now)
    return len(pos)


def _changed(alert: dict, last) -> bool:
    if last is None:
        return alert["status"] == "firing"
    return last.status != alert["status"] or (alert["status"] == "firing" and last.severity != alert["severity"])


async def _publish_changed(uow: UnitOfWork, alerts: list[dict], states: dict, now: datetime) -> int:
    published = 0
    for alert in alerts:
        if not _changed(alert, states.get(alert["key"])):
            continue
        data = AlertRaised.model_validate(alert).model_dump(mode="json", exclude_none=True)
        await uow.publish(ORDERS_ALERTS, key=alert["key"], type=ALERT_TYPE, time=now, data=data)
        await repo.upsert(uow.session, alert_states, {
            "key": alert["key"], "status": alert["status"], "severity": alert["severity"],
            "po_id": alert.get("po_id"), "supplier_id": alert.get("supplier_id"), "published_at": now})
        published += 1
    return published


async def check_delays(runtime: ServiceRuntime, cfg: OrdersSettings, now: datetime) -> int:
    """po_late per PO and supplier_unresponsive per supplier, incrementally; publishes only what changed.

    Only POs saved since the last pass (dirty) or whose next deadline (late, critical, unacknowledged
    timeout) has passed are evaluated; supplier_unresponsive is re-evaluated for their suppliers only, over
    those suppliers' sent POs. Each PO then stores its next deadline, so an idle fleet costs one indexed
    query per pass whatever the number of POs.
    """
    async with runtime.uow() as uow:
        lock = func.pg_try_advisory_xact_lock(func.hashtext("orders:delays"))
        if not (await uow.session.execute(select(lock))).scalar():
            return 0  # another replica evaluates this round
        candidates = await repo.delay_candidates(uow.session, now, cfg.delay_batch)
        pos = [po for po, _ in candidates]
        suppliers = sorted({po.supplier_id for po in pos if not po.is_transfer})
        waiting: dict[str, list[PurchaseOrder]] = defaultdict(list)
        for po in await repo.awaiting_ack(uow.session, suppliers):
            waiting[po.supplier_id].append(po)
        alerts = [po_late_alert(po, now) for po in pos]
        alerts += [unresponsive_alert(s, waiting.get(s, []), now, cfg.unack_timeout_s, cfg.unresponsive_after_attempt)
                   for s in suppliers]
        keys = {a["key"] for a in alerts}
        states = await repo.alert_state(uow.session, sorted(keys))
        published = await _publish_changed(uow, alerts, states, now)
        await repo.mark_checked(uow.session, [
            {"b_po_id": po.po_id, "b_seen": seen, "b_next": next_check_at(po, now, cfg.unack_timeout_s)}
            for po, seen in candidates])
    return published


async def refresh_metrics(runtime: ServiceRuntime) -> None:
    """replenish_purchase_orders{status}: a count over every PO, so on its own slower period."""
    async with runtime.sessionmaker() as session:
        counts = await repo.count_by_status(session)
    for status in STATUSES:
        PURCHASE_ORDERS.labels(status).set(counts.get(status, 0))


async def run_timers(runtime: ServiceRuntime, stop: asyncio.Event, cfg: OrdersSettings, clock: Clock) -> None:
    """The window closer every tick, delay checks every delay_check_s (wall-clock periods, judged on
    `clock`); one failing round stops nothing."""
    last_delay_check = last_metrics = -float("inf")
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            await close_windows(runtime, cfg, clock.now(), event=clock.is_event)
            if loop.time() - last_delay_check >= cfg.delay_check_s:
                last_delay_check = loop.time()
                await check_delays(runtime, cfg, clock.now())
            if loop.time() - last_metrics >= cfg.metrics_every_s:
                last_metrics = loop.time()
                await refresh_metrics(runtime)
        except Exception:
            log.exception("orders timer round failed")
        try:
            await asyncio.wait_for(stop.wait(), cfg.tick_s)
        except TimeoutError:
            pass
