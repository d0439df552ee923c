"""The webhook sender: signed pushes with stored retry times, per-supplier circuit breaker, final outcome.

Transport runs on the wall clock in both clock modes (due times, leases, backoff, the breaker); only the
PO's own stamps (a failed delivery's time, the change's audit) use the service's Clock.
"""
from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.orders import repository as repo
from services.orders.domain import (
    allow,
    backoff_delay,
    is_success,
    mark_delivered,
    mark_delivery_failed,
    record_failure,
    record_success,
    retry_after,
    should_retry,
    sign,
)
from services.orders.handlers import commit_change, utcnow
from services.orders.settings import OrdersSettings
from shared.clock import Clock
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)


async def _claim(runtime: ServiceRuntime, cfg: OrdersSettings, now: datetime) -> list[tuple[Any, str, str]]:
    """Due pushes the breaker lets through, leased so a crash mid-request retries them later."""
    lease = now + timedelta(seconds=cfg.push_timeout_s + 30)
    claimed: list[tuple[Any, str, str]] = []
    async with runtime.uow() as uow:
        for row in await repo.due_deliveries(uow.session, now, cfg.send_batch):
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
            claimed.append((row, *(hook or ("", ""))))
    return claimed


async def _post(client: httpx.AsyncClient, row: Any, url: str, secret: str) -> tuple[int | None, str | None]:
    if not url:
        return None, "no webhook configured"
    body = row.body.encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": row.idempotency_key,
               "X-Replenish-Signature": sign(body, secret), "X-Replenish-PO": row.po_id}
    try:
        response = await client.post(url, content=body, headers=headers)
        return response.status_code, None if is_success(response.status_code) else response.text[:200]
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


async def record_outcome(runtime: ServiceRuntime, cfg: OrdersSettings, row: Any, code: int | None,
                         error: str | None, rng: random.Random, clock: Clock) -> None:
    now = utcnow()
    at = clock.now()
    attempts = row.attempts + 1
    policy = cfg.retry_policy
    async with runtime.uow() as uow:
        breaker = await repo.breaker(uow.session, row.supplier_id)
        po = await repo.get_po(uow.session, row.po_id, lock=True)
        if is_success(code):
            await repo.save_breaker(uow.session, row.supplier_id, record_success(breaker))
            await repo.update_delivery(uow.session, row.id, status="delivered", attempts=attempts,
                                       last_status_code=code, last_error=None, next_attempt_at=None)
            after = mark_delivered(po, attempts) if po else None
        else:
            await repo.save_breaker(uow.session, row.supplier_id, record_failure(breaker, cfg.breaker, now))
            retry = should_retry(code, attempts, policy)
            wait = backoff_delay(attempts - 1, policy, rng) if retry else 0.0
            await repo.update_delivery(uow.session, row.id, status="pending" if retry else "failed",
                                       attempts=attempts, last_status_code=code, last_error=error,
                                       next_attempt_at=now + timedelta(seconds=wait) if retry else None)
            reason = f"webhook: {error or f'HTTP {code}'} after {attempts} attempt(s)"
            after = None if retry or po is None else mark_delivery_failed(po, attempts, at, reason)
            log.warning("push of %s rev %s to %s failed (attempt %d): %s", row.po_id, row.revision,
                        row.supplier_id, attempts, error or code)
        if po is not None and after is not None and row.revision == po.send_revision:
            await commit_change(uow, po, after, [], at)


async def _attempt(runtime: ServiceRuntime, cfg: OrdersSettings, client: httpx.AsyncClient, row: Any,
                   url: str, secret: str, rng: random.Random, clock: Clock) -> None:
    try:
        code, error = await _post(client, row, url, secret)
        await record_outcome(runtime, cfg, row, code, error, rng, clock)
    except Exception:
        # the lease on the row brings this push back once it expires
        log.exception("push of %s rev %s could not be recorded", row.po_id, row.revision)


async def send_due(runtime: ServiceRuntime, cfg: OrdersSettings, client: httpx.AsyncClient,
                   rng: random.Random, in_flight: set[asyncio.Task], clock: Clock) -> int:
    """Start every due push as its own task: a slow endpoint holds up only its own pushes."""
    room = cfg.send_batch - len(in_flight)
    if room <= 0:
        return 0
    claimed = await _claim(runtime, cfg.model_copy(update={"send_batch": room}), utcnow())
    for row, url, secret in claimed:
        task = asyncio.create_task(_attempt(runtime, cfg, client, row, url, secret, rng, clock))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    return len(claimed)


async def run_sender(runtime: ServiceRuntime, stop: asyncio.Event, cfg: OrdersSettings, clock: Clock) -> None:
    rng = random.Random()
    in_flight: set[asyncio.Task] = set()
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
            await asyncio.wait(in_flight, timeout=cfg.push_timeout_s + 1)
