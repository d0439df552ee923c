"""Delivery keys (no double-send), channel kinds, retry backoff and per-receiver rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify.domain import RateLimiter, channel_kind, delivery_key, digest_key, retry_delay


def test_delivery_key_is_deterministic_sha256_and_separates_inputs():
    key = delivery_key("a1", 3, "ops-chat")
    assert key == delivery_key("a1", 3, "ops-chat") and len(key) == 64
    assert int(key, 16) >= 0
    others = {delivery_key("a1", 4, "ops-chat"), delivery_key("a1", 3, "ops-sms"),
              delivery_key("a2", 3, "ops-chat"), delivery_key("a1", 3, "ops-chat", occasion="repeat:2")}
    assert key not in others and len(others) == 4
    # Concatenation ambiguity must not collide ("a1" + "3" vs "a" + "13").
    assert delivery_key("a1", 3, "x") != delivery_key("a", 13, "x")


def test_digest_key_ignores_member_order_but_not_revision_or_sequence():
    k = digest_key("g", "ops", [("a1", 1), ("a2", 2)], sequence=1)
    assert k == digest_key("g", "ops", [("a2", 2), ("a1", 1)], sequence=1)
    assert k != digest_key("g", "ops", [("a1", 1), ("a2", 3)], sequence=1)
    assert k != digest_key("g", "ops", [("a1", 1), ("a2", 2)], sequence=2)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("mailto://user:pw@smtp.example.com?to=ops@example.com", "email"),
        ("mailtos://smtp.example.com", "email"),
        ("json://127.0.0.1:9999/alerts", "webhook"),
        ("form://hooks.example.com", "webhook"),
        ("xml://hooks.example.com", "webhook"),
        ("slack://T000/B000/XXX", "chat"),
        ("workflows://host/workflow/signature", "chat"),
        ("msteams://token", "chat"),
        ("wecombot://botkey", "chat"),
        ("dingtalk://token", "chat"),
        ("feishu://token", "chat"),
        ("twilio://sid:token@+15551234567/+15557654321", "sms"),
        ("SNS://key/secret/us-east-1/+15551234567", "sms"),
        ("clicksend://user:pw@+15551234567", "sms"),
        ("bulksms://user:pw@+15551234567", "sms"),
        ("msg91://key@+15551234567", "sms"),
    ],
)
def test_channel_kind_from_apprise_scheme(url, kind):
    assert channel_kind(url) == kind


def test_retry_delay_doubles_and_caps():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert retry_delay(20) == timedelta(minutes=5)
    with pytest.raises(ValueError):
        retry_delay(0)


def test_rate_limit_allows_n_per_sliding_minute(clock):
    limiter = RateLimiter(per_minute=2)
    assert limiter.allow(clock.now) and limiter.allow(clock.advance(seconds=10))
    assert not limiter.allow(clock.advance(seconds=10))
    assert limiter.next_slot(clock.now) == clock.now + timedelta(seconds=40)
    assert limiter.allow(clock.advance(seconds=40))  # first send is a minute old
    assert not limiter.allow(clock.now)


def test_no_rate_limit_means_always_allowed(clock):
    limiter = RateLimiter(per_minute=None)
    assert all(limiter.allow(clock.now) for _ in range(100))


def test_ids_containing_separators_cannot_forge_another_key():
    assert delivery_key("x:1", 2, "r") != delivery_key("x", 1, "2:r")
    assert delivery_key("x\x1f1", 2, "r") != delivery_key("x", 1, "2\x1fr")
