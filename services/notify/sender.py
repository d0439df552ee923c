"""Sends claimed deliveries: per-receiver rate limits, retries with backoff, outcome log and events."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.notify import bulk, channels_apprise
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


async def publish_outcomes(uow: UnitOfWork, outcomes: list[tuple[Mapping[str, Any], list[Mapping[str, Any]], str, int]],
                           *, at: datetime | None = None) -> None:
    """Publish DeliveryRecorded once per alert each message carried (keyed by the alert key): (row, members,
    status, attempts) each, in one outbox statement. `at` defaults to each row's own time."""
    messages = []
    for row, members, status, attempts in outcomes:
        when = at or row["at"]
        for member in members:
            env = make_envelope(source=uow.source, type=DELIVERY_TYPE, time=when, subject=member["alert_key"],
                                id=f"{row['id']}:{member['alert_id']}:{status}",
                                data=_outcome_data(row, member, status=status, attempts=attempts, at=when))
            messages.append((DELIVERIES, member["alert_key"], env.to_bytes()))
        DELIVERY_COUNT.labels(row["channel"], status).inc()
    if messages:
        await uow.publish_batch(messages)


def member_of(alert: AlertState) -> dict[str, Any]:
    return {"alert_id": alert.id, "alert_key": alert.key, "revision": alert.revision}


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
        """Outcomes of one batch of sends in a fixed number of statements (update, members, outbox)."""
        now = utcnow()
        updates, events = [], []
        for row, result in outcomes:
            attempts = row["attempts"]
            if result.ok:
                updates.append((row["id"], "sent", None, None))
                events.append((row, "sent", attempts))
            elif attempts >= self.settings.max_attempts:
                log.warning("delivery %s to %s failed for good: %s", row["id"], row["receiver"], result.error)
                updates.append((row["id"], "failed", None, result.error))
                events.append((row, "failed", attempts))
            else:
                wait = retry_delay(attempts, base=timedelta(seconds=self.settings.retry_base_s),
                                   cap=timedelta(seconds=self.settings.retry_cap_s))
                log.info("delivery %s to %s failed (attempt %d), retry in %s: %s", row["id"],
                         row["receiver"], attempts, wait, result.error)
                updates.append((row["id"], "pending", now + wait, result.error))
        async with self.runtime.uow() as uow:
            await bulk.set_outcomes(uow.session, updates, at=now)
            members = await bulk.members_of(uow.session, [row["id"] for row, _, _ in events])
            await publish_outcomes(uow, [(row, members[row["id"]], status, attempts)
                                         for row, status, attempts in events], at=now)
