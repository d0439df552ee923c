"""Sending a PO: HMAC signature, idempotency key, retry schedule with full jitter, delivery outcome."""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .model import SYSTEM, AuditEntry, IllegalTransition, PurchaseOrder
from .states import transition

_KEY_NAMESPACE = uuid.UUID("6f1d3c52-8a57-4d0e-9a35-2b7e4f0c9d11")


def sign(body: bytes, secret: str | bytes) -> str:
    """`X-Replenish-Signature` value: HMAC-SHA256 of the raw body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str | bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(body, secret), signature)


def idempotency_key(po_id: str, revision: int) -> str:
    """Same PO revision, same key, on every retry and after a restart (a UUIDv5 of both)."""
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{po_id}:{revision}"))


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (0-based) waits uniform(0, min(cap_s, base_s * multiplier**n)) before the next try."""

    base_s: float = 1.0
    cap_s: float = 60.0
    multiplier: float = 2.0
    max_attempts: int = 6  # total tries, the first included

    def ceiling(self, attempt: int) -> float:
        return min(self.cap_s, self.base_s * self.multiplier ** attempt)


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full jitter (AWS architecture blog): spreads retries so a recovering endpoint is not stampeded."""
    return rng.uniform(0.0, policy.ceiling(attempt))


def retry_schedule(policy: RetryPolicy, seed: int | str | None = None) -> list[float]:
    """Delays between the max_attempts tries (max_attempts - 1 of them); seedable for tests and replays."""
    rng = random.Random(seed)
    return [backoff_delay(n, policy, rng) for n in range(policy.max_attempts - 1)]


def is_success(status_code: int | None) -> bool:
    """2xx only: CONTRACT §5 retries every other answer, and a timeout (None) too."""
    return status_code is not None and 200 <= status_code < 300


def should_retry(status_code: int | None, attempts_made: int, policy: RetryPolicy) -> bool:
    return not is_success(status_code) and attempts_made < policy.max_attempts


def send(po: PurchaseOrder, now: datetime, actor: str = SYSTEM) -> tuple[PurchaseOrder, AuditEntry]:
    """approved -> sent; the expected date becomes today plus the longest supplier lead time."""
    po, entry = transition(po, "send", actor, now, "handed to delivery")
    lead = max((ln.lead_time_days for ln in po.lines), default=0.0)
    expected = (now + timedelta(days=lead)).date()
    return replace(po, expected_date=expected, delivery_status="pending", delivery_attempts=0,
                   delivery_failed_at=None), entry


def mark_delivered(po: PurchaseOrder, attempts: int) -> PurchaseOrder:
    return replace(po, delivery_status="delivered", delivery_attempts=attempts, delivery_failed_at=None,
                   delivery_error=None)


def mark_delivery_failed(po: PurchaseOrder, attempts: int, now: datetime,
                         reason: str | None = None) -> PurchaseOrder:
    """The last retry failed: the supplier is unresponsive until it answers (see delays)."""
    return replace(po, delivery_status="failed", delivery_attempts=attempts, delivery_failed_at=now,
                   delivery_error=reason)


def resend(po: PurchaseOrder, actor: str, now: datetime, reason: str = "") -> tuple[PurchaseOrder, AuditEntry]:
    """Hand the same revision (same body, same Idempotency-Key) to delivery again after it failed for good."""
    if po.is_transfer:
        raise IllegalTransition(po.po_id, po.status, "resend", "an internal transfer is never pushed")
    if po.delivery_status != "failed":
        raise IllegalTransition(po.po_id, po.status, "resend",
                                f"only a failed delivery is pushed again (delivery is {po.delivery_status})")
    after, entry = transition(po, "resend", actor, now,
                              f"revision {po.send_revision} again" + (f"; {reason}" if reason else ""))
    return replace(after, delivery_status="pending", delivery_attempts=0, delivery_failed_at=None,
                   delivery_error=None), entry
