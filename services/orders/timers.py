"""Wall-clock work: close consolidation windows, approve or submit, send approved POs; delay alerts."""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from services.orders import repository as repo
from services.orders.domain import (
    STATUSES,
    PurchaseOrder,
    next_check_at,
    po_late_alert,
    send,
    submit,
    unresponsive_alert,
)
from services.orders.domain.model import APPROVED, PROPOSED
from services.orders.handlers import commit_change, request_delivery, utcnow
from services.orders.models import alert_states, purchase_orders
from services.orders.settings import OrdersSettings
from shared.db.uow import UnitOfWork
from shared.events.topics import ORDERS_ALERTS, AlertRaised
from shared.observability.metrics import PURCHASE_ORDERS
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
PO = purchase_orders.c
ALERT_TYPE = "replenish.alert"


async def dispatch_po(uow: UnitOfWork, po: PurchaseOrder, now: datetime) -> PurchaseOrder:
    """approved -> sent: `sent` means handed to delivery (a push queued, an email requested)."""
    sent, entry = send(po, now)
    channel = await request_delivery(uow, sent, now)
    if channel == "none":
        sent = replace(sent, delivery_status="none")  # an internal transfer: nothing is pushed or mailed
    await commit_change(uow, po, sent, [entry], now)
    return sent


async def close_windows(runtime: ServiceRuntime, cfg: OrdersSettings, now: datetime) -> int:
    """Every proposed PO past its window is submitted; every approved PO is sent. Returns POs touched."""
    cutoff = now - timedelta(seconds=cfg.window_s)
    due = or_(and_(PO.status == PROPOSED, PO.created_at <= cutoff), PO.status == APPROVED)
    async with runtime.uow() as uow:
        pos = await repo.claim_pos(uow.session, due)
        for po in pos:
            current = po
            if po.status == PROPOSED:
                current, entry = submit(po, cfg.approval_rules, now)
                await commit_change(uow, po, current, [entry], now)
            if current.status == APPROVED:
                await dispatch_po(uow, current, now)
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
        alerts += [unresponsive_alert(s, waiting.get(s, []), now, cfg.unack_timeout_s) for s in suppliers]
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


async def run_timers(runtime: ServiceRuntime, stop: asyncio.Event, cfg: OrdersSettings) -> None:
    """The window closer every tick, delay checks every delay_check_s; one failing round stops nothing."""
    last_delay_check = last_metrics = -float("inf")
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            await close_windows(runtime, cfg, utcnow())
            if loop.time() - last_delay_check >= cfg.delay_check_s:
                last_delay_check = loop.time()
                await check_delays(runtime, cfg, utcnow())
            if loop.time() - last_metrics >= cfg.metrics_every_s:
                last_metrics = loop.time()
                await refresh_metrics(runtime)
        except Exception:
            log.exception("orders timer round failed")
        try:
            await asyncio.wait_for(stop.wait(), cfg.tick_s)
        except TimeoutError:
            pass
