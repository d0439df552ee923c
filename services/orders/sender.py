"""The webhook sender: signed pushes on a stored retry schedule, per-supplier breaker and concurrency, outcome.

Transport runs on the wall clock in both clock modes (due times, the schedule, leases, the breaker,
webhook-timestamp); only the PO's own stamps (a failed delivery's time, the change's audit) use the Clock.
Everything the schedule needs (attempts, first attempt, next attempt) is on the `deliveries` row, so a
restart carries on where it stopped.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.orders import repository as repo
from services.orders.domain import (
    DELIVERED,
    RETRY,
    SYSTEM,
    AuditEntry,
    PurchaseOrder,
    allow,
    mark_delivered,
    mark_delivery_failed,
    mark_delivery_retrying,
    next_attempt_at,
    push_headers,
    push_verdict,
    record_failure,
    record_success,
    retry_after,
)
from services.orders.handlers import commit_change, utcnow
from services.orders.settings import OrdersSettings
from shared.clock import Clock
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
Claimed = tuple[Any, str, str]  # (deliveries row, url, secret)


async def _claim(runtime: ServiceRuntime, cfg: OrdersSettings, now: datetime, busy: Counter[str]) -> list[Claimed]:
    """Due pushes the breaker and the per-supplier limit let through, leased so a crash mid-request retries
    them later. `busy` counts pushes in flight per supplier; it is updated with what is claimed."""
    lease = now + timedelta(seconds=cfg.push_timeout_s + 30)
    claimed: list[Claimed] = []
    async with runtime.uow() as uow:
        for row in await repo.due_deliveries(uow.session, now, cfg.send_batch, cfg.push_per_supplier):
            if busy[row.supplier_id] >= cfg.push_per_supplier:
                continue  # this supplier has enough in flight; the row stays due for a later round
            breaker = await repo.breaker(uow.session, row.supplier_id)
            after, ok = allow(breaker, cfg.breaker, now)
            if after != breaker:
                await repo.save_breaker(uow.session, row.supplier_id, after)
            if not ok:
                # parked alone: this supplier's endpoint is open-circuited, nobody else waits for it
                wait = max(retry_after(after, cfg.breaker, now), cfg.tick_s)
                await repo.update_delivery(uow.session, row.id, next_attempt_at=now + timedelta(seconds=wait))
                continue
            hook = await repo.webhook(uow.session, row.supplier_id)
            await repo.update_delivery(uow.session, row.id, next_attempt_at=lease)
            busy[row.supplier_id] += 1
            claimed.append((row, *(hook or ("", ""))))
    return claimed


async def _post(client: httpx.AsyncClient, row: Any, url: str, secret: str) -> tuple[int | None, str | None]:
    if not url:
        return None, "no webhook configured"
    body = row.body.encode()
    # webhook-timestamp is this attempt's (wall clock): a receiver rejects a replay older than its tolerance
    headers = push_headers(row.po_id, row.idempotency_key, body, secret, int(time.time()))
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        detail = str(exc)[:200]
        return None, type(exc).__name__ + (f": {detail}" if detail else "")
    if push_verdict(response.status_code) == DELIVERED:
        return response.status_code, None
    text = response.text[:200].strip()
    return response.status_code, f"HTTP {response.status_code}" + (f": {text}" if text else "")


def _po_after_failure(po: PurchaseOrder, attempts: int, answer: str, retry_at: datetime | None, stopped: bool,
                      at: datetime) -> tuple[PurchaseOrder, list[AuditEntry]]:
    """The PO's delivery bookkeeping after a failed attempt: still pending (the count the unresponsive rule
    reads) or failed for good, with the reason, audited."""
    if retry_at is not None:
        reason = f"webhook: {answer} after {attempts} attempt(s); next attempt at {retry_at.isoformat()}"
        return mark_delivery_retrying(po, attempts, reason), []
    why = "the endpoint answered 410 Gone" if stopped else "push schedule exhausted"
    reason = f"webhook: {answer} after {attempts} attempt(s) ({why})"
    entry = AuditEntry(at=at, actor=SYSTEM, action="delivery", from_status=po.status, to_status=po.status,
                       reason=f"push of revision {po.send_revision} failed for good: {reason}")
    return mark_delivery_failed(po, attempts, at, reason), [entry]


async def record_outcome(runtime: ServiceRuntime, cfg: OrdersSettings, row: Any, code: int | None,
                         error: str | None, rng: random.Random, clock: Clock,
                         started: datetime | None = None) -> None:
    """Store one attempt's outcome: delivered, the next time on the schedule, or failed for good.

    `started`: when this attempt began; it opens the schedule's round when it is the round's first attempt.
    """
    now = utcnow()
    at = clock.now()
    attempts = row.attempts + 1
    first = (row.first_attempt_at if row.attempts and row.first_attempt_at else None) or started or now
    async with runtime.uow() as uow:
        breaker = await repo.breaker(uow.session, row.supplier_id)
        po = await repo.get_po(uow.session, row.po_id, lock=True)
        current = po is not None and row.revision == po.send_revision
        entries: list[AuditEntry] = []
        if push_verdict(code) == DELIVERED:
            await repo.save_breaker(uow.session, row.supplier_id, record_success(breaker))
            await repo.update_delivery(uow.session, row.id, status="delivered", attempts=attempts,
                                       first_attempt_at=first, last_status_code=code, last_error=None,
                                       next_attempt_at=None)
            after = mark_delivered(po, attempts) if current else None
        else:
            await repo.save_breaker(uow.session, row.supplier_id, record_failure(breaker, cfg.breaker, now))
            stopped = push_verdict(code) != RETRY
            retry_at = None if stopped else next_attempt_at(cfg.push_plan, attempts, first, now, rng)
            await repo.update_delivery(uow.session, row.id, status="pending" if retry_at else "failed",
                                       attempts=attempts, first_attempt_at=first, last_status_code=code,
                                       last_error=error, next_attempt_at=retry_at)
            after = None
            if current and po.delivery_status == "pending":
                after, entries = _po_after_failure(po, attempts, error or f"HTTP {code}", retry_at, stopped, at)
            log.warning("push of %s rev %s to %s failed (attempt %d, %s): %s", row.po_id, row.revision,
                        row.supplier_id, attempts, f"next at {retry_at.isoformat()}" if retry_at else "gave up",
                        error or code)
        if current and after is not None:
            await commit_change(uow, po, after, entries, at)


async def _attempt(runtime: ServiceRuntime, cfg: OrdersSettings, client: httpx.AsyncClient, row: Any,
                   url: str, secret: str, rng: random.Random, clock: Clock) -> None:
    try:
        started = utcnow()  # transport (§10): the push schedule and its retries run on the wall clock
        code, error = await _post(client, row, url, secret)
        await record_outcome(runtime, cfg, row, code, error, rng, clock, started)
    except Exception:
        # the lease on the row brings this push back once it expires
        log.exception("push of %s rev %s could not be recorded", row.po_id, row.revision)


async def send_due(runtime: ServiceRuntime, cfg: OrdersSettings, client: httpx.AsyncClient,
                   rng: random.Random, in_flight: dict[asyncio.Task, str], clock: Clock) -> int:
    """Start every due push as its own task: a slow endpoint holds up only its own pushes, and at most
    push_per_supplier of them, so it cannot fill the batch. `in_flight` maps each running push to its supplier."""
    room = cfg.send_batch - len(in_flight)
    if room <= 0:
        return 0
    busy = Counter(in_flight.values())
    claimed = await _claim(runtime, cfg.model_copy(update={"send_batch": room}), utcnow(), busy)
    for row, url, secret in claimed:
        task = asyncio.create_task(_attempt(runtime, cfg, client, row, url, secret, rng, clock))
        in_flight[task] = row.supplier_id
        task.add_done_callback(lambda done: in_flight.pop(done, None))
    return len(claimed)


async def run_sender(runtime: ServiceRuntime, stop: asyncio.Event, cfg: OrdersSettings, clock: Clock) -> None:
    rng = random.Random()
    in_flight: dict[asyncio.Task, str] = {}
    async with httpx.AsyncClient(timeout=cfg.push_timeout_s, follow_redirects=False) as client:
        while not stop.is_set():
            try:
                await send_due(runtime, cfg, client, rng, in_flight, clock)
            except Exception:
                log.exception("orders sender round failed")
            try:
                await asyncio.wait_for(stop.wait(), cfg.tick_s / 2)
            except TimeoutError:
                pass
        if in_flight:
            await asyncio.wait(list(in_flight), timeout=cfg.push_timeout_s + 1)
