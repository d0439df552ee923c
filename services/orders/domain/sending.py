"""Sending a PO: signatures (ours and Standard Webhooks), idempotency key, the push schedule, delivery outcome."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import random
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .model import SYSTEM, AuditEntry, IllegalTransition, PurchaseOrder
from .states import transition

_KEY_NAMESPACE = uuid.UUID("6f1d3c52-8a57-4d0e-9a35-2b7e4f0c9d11")
WHSEC_PREFIX = "whsec_"
SIGNATURE_TOLERANCE_S = 300  # what receivers are told to accept between webhook-timestamp and their clock


def sign(body: bytes, secret: str | bytes) -> str:
    """`X-Replenish-Signature` value: HMAC-SHA256 of the raw body with the secret's bytes."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str | bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(body, secret), signature)


def signing_key(secret: str) -> bytes:
    """The Standard Webhooks key: `whsec_<base64>` decodes (padding optional, as the reference libraries
    do); any other secret, or a `whsec_` one that does not decode to at least one byte, is its UTF-8 bytes."""
    if secret.startswith(WHSEC_PREFIX):
        try:
            key = base64.b64decode(secret[len(WHSEC_PREFIX):] + "==")
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode()


def standard_signature(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """`webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (Standard Webhooks)."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def push_headers(po_id: str, key: str, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """Every header of one push attempt: the body and key are the revision's, the timestamp this attempt's."""
    return {"Content-Type": "application/json", "Idempotency-Key": key, "X-Replenish-PO": po_id,
            "X-Replenish-Signature": sign(body, secret), "webhook-id": key,
            "webhook-timestamp": str(timestamp), "webhook-signature": standard_signature(key, timestamp, body, secret)}


def idempotency_key(po_id: str, revision: int) -> str:
    """Same PO revision, same key, on every retry and after a restart (a UUIDv5 of both)."""
    return str(uuid.uuid5(_KEY_NAMESPACE, f"{po_id}:{revision}"))


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: str | float | int | timedelta) -> float:
    """Seconds from `90`, `"90"`, `"250ms"`, `"5s"`, `"5m"`, `"2h"`, `"1d"` or a timedelta."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"not a duration: {value!r} (a number of seconds, or with ms, s, m, h or d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_durations(value: str | Iterable[str | float | int | timedelta]) -> tuple[float, ...]:
    """A list of durations: `"5s,5m,30m"`, a JSON list, or a sequence of durations."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else [v for v in value.split(",") if v.strip()]
    return tuple(parse_duration(v) for v in value)


DEFAULT_PUSH_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 86400.0)  # 5s 5m 30m 2h 5h 10h 1d


@dataclass(frozen=True)
class PushSchedule:
    """Waits after failed attempts: the n-th failure waits delays[n-1], the last delay repeats; no attempt is
    planned later than max_age after the first one. Each wait is scaled by uniform(1 - jitter, 1 + jitter)."""

    delays: tuple[float, ...] = DEFAULT_PUSH_SCHEDULE
    max_age_s: float = 3 * 86400.0
    jitter: float = 0.1
    max_attempts: int | None = None  # an optional cap on tries, the first included
    unresponsive_after: int = 5  # supplier_unresponsive once this many attempts of a PO failed

    def __post_init__(self) -> None:
        if not self.delays or any(d <= 0 for d in self.delays):
            raise ValueError("a push schedule needs at least one delay, each > 0")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")

    def delay(self, attempts_made: int) -> float:
        """The nominal wait after the attempts_made-th failed attempt (1-based)."""
        return self.delays[min(attempts_made, len(self.delays)) - 1]


def legacy_schedule(base_s: float, cap_s: float, max_attempts: int) -> tuple[float, ...]:
    """The pre-v2 exponential ladder (REPLENISH_ORDERS_RETRY_*), still honoured when those are set."""
    return tuple(min(cap_s, base_s * 2 ** n) for n in range(max(max_attempts - 1, 1)))


def planned_attempts(schedule: PushSchedule) -> int:
    """How many attempts the schedule makes when every answer is instant: the first, then one per wait that
    still ends within max_age of the first (the last delay repeating), at most max_attempts."""
    total, n = 0.0, 1
    for delay in schedule.delays[:-1]:
        if total + delay > schedule.max_age_s:
            break
        total, n = total + delay, n + 1
    else:
        n += math.floor((schedule.max_age_s - total) / schedule.delays[-1] + 1e-9)
    return n if schedule.max_attempts is None else min(n, schedule.max_attempts)


def next_attempt_at(schedule: PushSchedule, attempts_made: int, started_at: datetime, failed_at: datetime,
                    rng: random.Random) -> datetime | None:
    """When to try again after the attempts_made-th failure, or None: the schedule is exhausted.

    The number of attempts is the planned one (jitter does not change it); the time is the failure plus the
    jittered wait, never later than max_age after the round's first attempt. A failure already past that
    deadline (answers that took long, a breaker that kept the push parked) ends the round.
    """
    deadline = started_at + timedelta(seconds=schedule.max_age_s)
    if attempts_made >= planned_attempts(schedule) or failed_at >= deadline:
        return None
    wait = schedule.delay(attempts_made) * rng.uniform(1 - schedule.jitter, 1 + schedule.jitter)
    return min(failed_at + timedelta(seconds=wait), deadline)


def nominal_attempts(schedule: PushSchedule) -> list[float]:
    """Seconds after the first attempt of every attempt, with no jitter and instant answers (docs, tests)."""
    offsets = [0.0]
    for n in range(1, planned_attempts(schedule)):
        offsets.append(offsets[-1] + schedule.delay(n))
    return offsets


DELIVERED, RETRY, STOP = "delivered", "retry", "stop"


def is_success(status_code: int | None) -> bool:
    """2xx only: docs/contract.md §5 retries every other answer, and a timeout (None) too."""
    return status_code is not None and 200 <= status_code < 300


def push_verdict(status_code: int | None) -> str:
    """2xx delivered; 410 Gone stops (the receiver says the endpoint is gone for good); everything else,
    transport errors and other 4xx included, is retried on the schedule (see docs/orders.md)."""
    if is_success(status_code):
        return DELIVERED
    return STOP if status_code == 410 else RETRY


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


def mark_delivery_retrying(po: PurchaseOrder, attempts: int, reason: str) -> PurchaseOrder:
    """An attempt failed and another is planned: still pending, with the count the unresponsive rule reads."""
    return replace(po, delivery_status="pending", delivery_attempts=attempts, delivery_error=reason)


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
