"""Deterministic delivery keys (one send per alert revision and receiver), retry backoff, rate limits."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


def _digest(*parts: str) -> str:
    # Length-prefixed parts: ("a", "bc") and ("ab", "c") never encode alike, whatever the ids contain.
    return hashlib.sha256("".join(f"{len(part)}:{part}" for part in parts).encode()).hexdigest()


def delivery_key(alert_id: str, revision: int, receiver: str, *, occasion: str = "") -> str:
    """Idempotency key of one notification; `occasion` separates repeats and escalation steps."""
    return _digest("alert", alert_id, str(revision), receiver, occasion)


def digest_key(group_key: str, receiver: str, members: Iterable[tuple[str, int]], *, sequence: int) -> str:
    """Idempotency key of one group digest: the same flush of the same alert revisions sends once."""
    items = ",".join(f"{alert_id}@{revision}" for alert_id, revision in sorted(members))
    return _digest("group", group_key, receiver, items, str(sequence))


def retry_delay(attempt: int, *, base: timedelta = timedelta(seconds=2),
                cap: timedelta = timedelta(minutes=5)) -> timedelta:
    """Wait before retry number `attempt` (1-based): doubling from `base`, capped."""
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    return min(base * (2 ** (attempt - 1)), cap)


@dataclass
class RateLimiter:
    """Sliding one-minute window per receiver: at most `per_minute` sends, others wait for `next_slot`."""

    per_minute: int | None
    sent_at: deque[datetime] = field(default_factory=deque)

    def _trim(self, now: datetime) -> None:
        while self.sent_at and self.sent_at[0] <= now - timedelta(minutes=1):
            self.sent_at.popleft()

    def allow(self, now: datetime) -> bool:
        """Take a slot if one is free at `now`."""
        if self.per_minute is None:
            return True
        self._trim(now)
        if len(self.sent_at) >= self.per_minute:
            return False
        self.sent_at.append(now)
        return True

    def next_slot(self, now: datetime) -> datetime:
        """Earliest time a send would be allowed."""
        self._trim(now)
        if self.per_minute is None or len(self.sent_at) < self.per_minute:
            return now
        return self.sent_at[0] + timedelta(minutes=1)
