"""Per-supplier circuit breaker (closed / open / half-open), explicit clock: a dead endpoint waits alone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5  # consecutive failures that open the circuit
    reset_timeout_s: float = 30.0  # how long it stays open before one probe is let through


@dataclass(frozen=True)
class CircuitBreaker:
    state: str = CLOSED
    failures: int = 0
    opened_at: datetime | None = None
    probe_at: datetime | None = None  # when the half-open probe was let through


def allow(b: CircuitBreaker, cfg: BreakerConfig, now: datetime) -> tuple[CircuitBreaker, bool]:
    """May a request go to this supplier now? Half-open lets exactly one probe through at a time."""
    reset = timedelta(seconds=cfg.reset_timeout_s)
    if b.state == CLOSED:
        return b, True
    if b.state == OPEN:
        if b.opened_at is not None and now < b.opened_at + reset:
            return b, False
        return replace(b, state=HALF_OPEN, probe_at=now), True
    # a probe that never reported back (crash, lost result) must not wedge the breaker half-open
    if b.probe_at is not None and now < b.probe_at + reset:
        return b, False
    return replace(b, probe_at=now), True


def record_success(b: CircuitBreaker) -> CircuitBreaker:
    return CircuitBreaker()


def record_failure(b: CircuitBreaker, cfg: BreakerConfig, now: datetime) -> CircuitBreaker:
    failures = b.failures + 1
    if b.state == HALF_OPEN or (b.state == CLOSED and failures >= cfg.failure_threshold):
        return CircuitBreaker(state=OPEN, failures=failures, opened_at=now)
    return replace(b, failures=failures)


def retry_after(b: CircuitBreaker, cfg: BreakerConfig, now: datetime) -> float:
    """Seconds until `allow` could say yes (0 when it would now): lets the sender park this supplier."""
    reset = timedelta(seconds=cfg.reset_timeout_s)
    since = b.opened_at if b.state == OPEN else b.probe_at if b.state == HALF_OPEN else None
    if since is None:
        return 0.0
    return max(0.0, (since + reset - now).total_seconds())
