"""Circuit breaker per supplier on an explicit clock."""

from __future__ import annotations

from datetime import timedelta

from services.orders.domain import (
    BreakerConfig,
    CircuitBreaker,
    allow,
    record_failure,
    record_success,
    retry_after,
)

from .builders import T0

CFG = BreakerConfig(failure_threshold=3, reset_timeout_s=30)


def s(seconds: float):
    return T0 + timedelta(seconds=seconds)


def failed(times: int, at=T0) -> CircuitBreaker:
    b = CircuitBreaker()
    for _ in range(times):
        b = record_failure(b, CFG, at)
    return b


def test_closed_breaker_lets_everything_through():
    b, ok = allow(CircuitBreaker(), CFG, T0)
    assert ok and b.state == "closed"


def test_opens_after_threshold_consecutive_failures():
    assert failed(2).state == "closed"
    b = failed(3)
    assert b.state == "open" and b.opened_at == T0
    assert allow(b, CFG, s(29.9))[1] is False


def test_success_resets_the_failure_count():
    b = record_success(failed(2))
    assert record_failure(b, CFG, T0).state == "closed"


def test_after_reset_timeout_one_probe_goes_through_half_open():
    b, ok = allow(failed(3), CFG, s(30))
    assert ok and b.state == "half_open" and b.probe_at == s(30)
    b2, ok2 = allow(b, CFG, s(31))
    assert not ok2 and b2.state == "half_open"


def test_probe_success_closes_and_probe_failure_reopens():
    half, _ = allow(failed(3), CFG, s(30))
    assert record_success(half).state == "closed"
    reopened = record_failure(half, CFG, s(31))
    assert reopened.state == "open" and reopened.opened_at == s(31)
    assert allow(reopened, CFG, s(60))[1] is False and allow(reopened, CFG, s(61))[1] is True


def test_lost_probe_does_not_wedge_the_breaker():
    half, _ = allow(failed(3), CFG, s(30))
    b, ok = allow(half, CFG, s(60))
    assert ok and b.probe_at == s(60)


def test_retry_after_counts_down_the_open_period():
    b = failed(3)
    assert retry_after(b, CFG, s(10)) == 20.0
    assert retry_after(b, CFG, s(45)) == 0.0
    assert retry_after(CircuitBreaker(), CFG, T0) == 0.0


def test_breakers_are_independent_per_supplier():
    board = {"SUP-1": failed(3), "SUP-2": CircuitBreaker()}
    assert allow(board["SUP-1"], CFG, s(1))[1] is False
    assert allow(board["SUP-2"], CFG, s(1))[1] is True


def test_retry_after_in_half_open_waits_for_the_probe():
    half, _ = allow(failed(3), CFG, s(30))
    assert retry_after(half, CFG, s(40)) == 20.0
