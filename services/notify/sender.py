"""Sends claimed deliveries: per-receiver rate limits, retries with backoff, outcome log and events."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.notify import channels_apprise
from services.notify import repository as repo
from services.notify.config import NotifyConfig
from services.notify.domain import AlertState, RateLimiter, retry_delay
from services.notify.handlers import utcnow
from services.notify.settings import NotifySettings
from shared.db.uow import UnitOfWork
from shared.events.envelope import make_envelope
from shared.events.topics import DELIVERIES
from shared.observability.metrics import DELIVERIES as DELIVERY_COUNT
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
DELIVERY_TYPE = "replenish.notify.delivery"


def _outcome_data(row: Mapping[str, Any], member: Mapping[str, Any], *, status: str, attempts: int,
                  at: datetime) -> dict[str, Any]:
    return {"alert_id": member["alert_id"], "alert_key": member["alert_key"], "revision": member["revision"],
            "receiver": row["receiver"], "channel": row["channel"], "status": status, "attempts": attempts,
            "at": at.isoformat(), "idempotency_key": row["idempotency_key"]}


async def record_outcome(uow: UnitOfWork, row: Mapping[str, Any], *, status: str, attempts: int,
                         at: datetime) -> None:
    """Publish DeliveryRecorded once per alert the message carried (keyed by the alert key)."""
    for member in await repo.delivery_members(uow.session, row["id"]):
        await uow.publish(DELIVERIES, key=member["alert_key"], type=DELIVERY_TYPE, time=at,
                          id=f"{row['id']}:{member['alert_id']}:{status}",
                          data=_outcome_data(row, member, status=status, attempts=attempts, at=at))
    DELIVERY_COUNT.labels(row["channel"], status).inc()


async def publish_outcomes(uow: UnitOfWork, rows: list[tuple[Mapping[str, Any], list[AlertState]]], *,
                           status: str) -> None:
    """record_outcome for many new rows whose members are known (no read back): one outbox statement."""
    messages = []
    for row, members in rows:
        at = row["at"]
        for alert in members:
            member = {"alert_id": alert.id, "alert_key": alert.key, "revision": alert.revision}
            env = make_envelope(source=uow.source, type=DELIVERY_TYPE, time=at, subject=alert.key,
                                id=f"{row['id']}:{alert.id}:{status}",
                                data=_outcome_data(row, member, status=status, attempts=row["attempts"], at=at))
            messages.append((DELIVERIES, alert.key, env.to_bytes()))
        DELIVERY_COUNT.labels(row["channel"], status).inc()
    if messages:
        await uow.publish_batch(messages)


class Sender:
    def __init__(self, runtime: ServiceRuntime, settings: NotifySettings) -> None:
        self.runtime, self.settings = runtime, settings
        self.limiters: dict[str, RateLimiter] = {}
        self.in_flight: set[asyncio.Task] = set()

    def _limiter(self, config: NotifyConfig, receiver: str) -> RateLimiter:
        try:
            per_minute = config.receiver(receiver).rate_limit
        except KeyError:
            per_minute = None
        limiter = self.limiters.get(receiver)
        if limiter is None or limiter.per_minute != per_minute:
            limiter = self.limiters[receiver] = RateLimiter(per_minute)
        return limiter

    def lease(self, now: datetime) -> datetime:
        """Until when a claimed delivery belongs to this sender (then a restart may retry it)."""
        return now + timedelta(seconds=self.settings.send_timeout_s * 3 + 5)

    def admit(self, config: NotifyConfig, row: dict[str, Any], now: datetime) -> bool:
        """For a new delivery row: claim it for an immediate send, or park it until the rate limit allows."""
        limiter = self._limiter(config, row["receiver"])
        if limiter.allow(now):
            row.update(status="sending", attempts=1, next_attempt_at=self.lease(now))
            return True
        row.update(status="pending", next_attempt_at=limiter.next_slot(now))
        return False

    async def claim(self, config: NotifyConfig, now: datetime) -> list[dict[str, Any]]:
        """Take due retries: mark them sending (with a lease) before any byte leaves, commit."""
        claimed = []
        async with self.runtime.uow() as uow:
            for row in await repo.due_deliveries(uow.session, now, limit=self.settings.batch):
                limiter = self._limiter(config, row["receiver"])
                if not limiter.allow(now):
                    await repo.update_delivery(uow.session, row["id"], next_attempt_at=limiter.next_slot(now))
                    continue
                attempts = row["attempts"] + 1
                await repo.update_delivery(uow.session, row["id"], status="sending", attempts=attempts,
                                           next_attempt_at=self.lease(now), at=now)
                claimed.append({**row, "attempts": attempts})
        return claimed

    async def send_due(self, config: NotifyConfig, now: datetime) -> int:
        claimed = await self.claim(config, now)
        self.start(claimed)
        return len(claimed)

    def start(self, rows: list[dict[str, Any]]) -> None:
        """Send claimed rows in the background, so a slow receiver never holds up the dispatcher."""
        if rows:
            task = asyncio.create_task(self.deliver(rows))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def deliver(self, rows: list[dict[str, Any]]) -> None:
        results = await asyncio.gather(*(self._send(row) for row in rows))
        await self._record(list(zip(rows, results, strict=True)))

    async def drain(self, timeout_s: float) -> None:
        if self.in_flight:
            await asyncio.wait(self.in_flight, timeout=timeout_s)

    async def _send(self, row: Mapping[str, Any]) -> channels_apprise.SendResult:
        return await channels_apprise.send(row["url"], row["title"], row["body"],
                                           idempotency_key=row["idempotency_key"],
                                           timeout_s=self.settings.send_timeout_s)

    async def _record(self, outcomes: list[tuple[dict[str, Any], channels_apprise.SendResult]]) -> None:
        now = utcnow()
        async with self.runtime.uow() as uow:
            for row, result in outcomes:
                attempts = row["attempts"]
                if result.ok:
                    await repo.update_delivery(uow.session, row["id"], status="sent", at=now,
                                               next_attempt_at=None, last_error=None)
                    await record_outcome(uow, row, status="sent", attempts=attempts, at=now)
                elif attempts >= self.settings.max_attempts:
                    log.warning("delivery %s to %s failed for good: %s", row["id"], row["receiver"], result.error)
                    await repo.update_delivery(uow.session, row["id"], status="failed", at=now,
                                               next_attempt_at=None, last_error=result.error)
                    await record_outcome(uow, row, status="failed", attempts=attempts, at=now)
                else:
                    wait = retry_delay(attempts, base=timedelta(seconds=self.settings.retry_base_s),
                                       cap=timedelta(seconds=self.settings.retry_cap_s))
                    log.info("delivery %s to %s failed (attempt %d), retry in %s: %s", row["id"],
                             row["receiver"], attempts, wait, result.error)
                    await repo.update_delivery(uow.session, row["id"], status="pending", at=now,
                                               next_attempt_at=now + wait, last_error=result.error)
