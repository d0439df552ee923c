"""PO emails: record orders' requests (one row per PO revision), mail them with the CSV attached, log outcomes."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from services.notify import channels_apprise
from services.notify import repository as repo
from services.notify.config import PoEmail
from services.notify.domain import retry_delay
from services.notify.domain.po_email import InvalidRequest, email_body, parse_request, recipient_url, triage
from services.notify.handlers import utcnow
from services.notify.reload import ConfigSource
from services.notify.settings import NotifySettings
from shared.bus.consumer import PoisonMessage
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import DELIVERIES
from shared.observability.metrics import DELIVERIES as DELIVERY_COUNT
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
PO_EMAIL_TYPE = "replenish.orders.po_email"
DELIVERY_TYPE = "replenish.notify.delivery"
RECEIVER = "po_email"


async def on_po_email(uow: UnitOfWork, env: Envelope, *, config: PoEmail | None) -> bool:
    """Claim the request's idempotency key before anything is sent; True when a send is now due.

    A request that cannot be sent (no mail server configured, no supplier address) is recorded with
    its reason, logged for ops and published as a delivery outcome: never silently dropped.
    """
    if env.type != PO_EMAIL_TYPE:
        return False  # PO snapshots share the topic; they are the orders' read model, not ours
    try:
        request = parse_request(env.data)
    except InvalidRequest as exc:
        raise PoisonMessage(str(exc)) from exc
    decision, now = triage(request, configured=config is not None), utcnow()
    row = {"idempotency_key": request.idempotency_key, "po_id": request.po_id,
           "supplier_id": request.supplier_id, "revision": request.revision, "recipient": request.to,
           "supplier_name": request.supplier_name, "subject": request.subject,
           "body": email_body(request, config.locale if config else "en"), "filename": request.filename,
           "content_type": request.content_type, "content": request.content, "status": decision.status,
           "reason": decision.reason, "attempts": 0, "created_at": now, "at": now,
           "next_attempt_at": now if decision.status == "pending" else None}
    if not await repo.add_po_email(uow.session, row):
        if not env.data.get("resend"):
            return False  # this PO revision was handled before
        # Orders asks again after a final failure: the same email (same key) gets a fresh round of attempts.
        if not await repo.reopen_po_email(uow.session, request.idempotency_key, row):
            return False
    if decision.status == "pending":
        return True
    log.warning("PO %s revision %d for supplier %s not emailed (%s): %s", request.po_id, request.revision,
                request.supplier_id, decision.status, decision.reason)
    await record_po_outcome(uow, row, status=decision.status, attempts=0, at=now, reason=decision.reason)
    return False


async def record_po_outcome(uow: UnitOfWork, row: Mapping[str, Any], *, status: str, attempts: int,
                            at: datetime, reason: str | None = None) -> None:
    """DeliveryRecorded for a PO email; the alert fields name the PO, since no alert caused it."""
    key = row["idempotency_key"]
    # One outcome per attempt round: a resend's outcome must not look like a redelivery of the first one.
    await uow.publish(DELIVERIES, key=row["po_id"], type=DELIVERY_TYPE, time=at,
                      id=f"{key}:{status}:{at.isoformat()}",
                      data={"kind": "po_email", "alert_id": f"po:{row['po_id']}",
                            "alert_key": f"po_email:{row['po_id']}",
                            "revision": row["revision"], "receiver": RECEIVER, "channel": "email",
                            "status": status, "attempts": attempts, "at": at.isoformat(),
                            "idempotency_key": key, "po_id": row["po_id"], "supplier_id": row["supplier_id"],
                            "reason": reason})
    DELIVERY_COUNT.labels("email", status).inc()


class PoMailer:
    """Background task: claims due PO emails (lease first, then send), retries with backoff."""

    def __init__(self, runtime: ServiceRuntime, settings: NotifySettings, config: ConfigSource) -> None:
        self.runtime, self.settings, self.config = runtime, settings, config
        self.wake = asyncio.Event()

    async def run(self, runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.send_due(utcnow())
            except Exception:
                log.exception("PO mailer pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.po_email_every_s)

    async def send_due(self, now: datetime) -> int:
        config = self.config.current.po_email
        claimed = await self.claim(config, now)
        if not claimed or config is None:
            return 0
        results = await asyncio.gather(*(self._send(config, row) for row in claimed))
        await self._record(list(zip(claimed, results, strict=True)))
        return len(claimed)

    async def claim(self, config: PoEmail | None, now: datetime) -> list[dict[str, Any]]:
        """Mark due rows `sending` with a lease and commit before any byte leaves (crash: retried later)."""
        lease = now + timedelta(seconds=self.settings.po_email_lease_s)
        claimed = []
        async with self.runtime.uow() as uow:
            for row in await repo.due_po_emails(uow.session, now, limit=self.settings.batch):
                if config is None:  # the po_email section was removed by a reload while it waited
                    reason = "notify.po_email is not configured: no mail server to send POs with"
                    await repo.update_po_email(uow.session, row["idempotency_key"], status="suppressed",
                                               reason=reason, next_attempt_at=None, at=now)
                    await record_po_outcome(uow, row, status="suppressed", attempts=row["attempts"], at=now,
                                            reason=reason)
                    continue
                attempts = row["attempts"] + 1
                await repo.update_po_email(uow.session, row["idempotency_key"], status="sending",
                                           attempts=attempts, next_attempt_at=lease, at=now)
                claimed.append({**row, "attempts": attempts})
        return claimed

    async def _send(self, config: PoEmail, row: Mapping[str, Any]) -> channels_apprise.SendResult:
        url = recipient_url(config.url, row["recipient"], sender=config.from_, bcc=config.bcc,
                            idempotency_key=row["idempotency_key"])
        return await channels_apprise.send_mail(url, row["subject"], row["body"], filename=row["filename"],
                                                content=row["content"])

    async def _record(self, outcomes: list[tuple[dict[str, Any], channels_apprise.SendResult]]) -> None:
        now = utcnow()
        async with self.runtime.uow() as uow:
            for row, result in outcomes:
                key, attempts = row["idempotency_key"], row["attempts"]
                if result.ok:
                    await repo.update_po_email(uow.session, key, status="sent", at=now, next_attempt_at=None,
                                               last_error=None)
                    await record_po_outcome(uow, row, status="sent", attempts=attempts, at=now)
                elif attempts >= self.settings.max_attempts:
                    log.warning("PO email %s (%s) failed for good: %s", key, row["po_id"], result.error)
                    await repo.update_po_email(uow.session, key, status="failed", at=now, next_attempt_at=None,
                                               last_error=result.error, reason="mail server kept failing")
                    await record_po_outcome(uow, row, status="failed", attempts=attempts, at=now,
                                            reason=result.error)
                else:
                    wait = retry_delay(attempts, base=timedelta(seconds=self.settings.retry_base_s),
                                       cap=timedelta(seconds=self.settings.retry_cap_s))
                    log.info("PO email %s (%s) failed (attempt %d), retry in %s: %s", key, row["po_id"],
                             attempts, wait, result.error)
                    await repo.update_po_email(uow.session, key, status="pending", at=now,
                                               next_attempt_at=now + wait, last_error=result.error)
