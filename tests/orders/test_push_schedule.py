"""The push schedule (times, jitter bounds, exhaustion, settings) and the Standard Webhooks headers, verified
by an independent implementation (the `standardwebhooks` reference library and plain hmac)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.orders.domain import (
    DEFAULT_PUSH_SCHEDULE,
    PushSchedule,
    idempotency_key,
    legacy_schedule,
    next_attempt_at,
    nominal_attempts,
    parse_durations,
    planned_attempts,
    push_body,
    push_headers,
    signing_key,
    standard_signature,
)
from services.orders.settings import OrdersSettings

from .builders import T0, sent

HOUR, DAY = 3600.0, 86400.0
EXACT = PushSchedule(jitter=0.0)


def test_default_schedule_tries_over_three_days():
    offsets = nominal_attempts(PushSchedule())
    # first try, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then daily while within 3 days of the first try
    assert offsets == [0, 5, 305, 2105, 9305, 27305, 63305, 149705, 236105]
    assert offsets[-1] < 3 * DAY < offsets[-1] + DAY


def test_each_wait_follows_the_schedule_and_the_last_delay_repeats():
    waits = [(next_attempt_at(EXACT, n, T0, T0, random.Random(0)) - T0).total_seconds() for n in range(1, 9)]
    assert waits == [5, 300, 1800, 2 * HOUR, 5 * HOUR, 10 * HOUR, DAY, DAY]


@pytest.mark.parametrize("attempts_made", [1, 2, 3, 4, 5, 6, 7])
def test_jitter_stays_within_its_bounds_and_spreads(attempts_made):
    schedule, rng = PushSchedule(jitter=0.1), random.Random(7)
    nominal = schedule.delay(attempts_made)
    waits = [(next_attempt_at(schedule, attempts_made, T0, T0, rng) - T0).total_seconds() for _ in range(400)]
    assert all(0.9 * nominal - 1e-6 <= w <= 1.1 * nominal + 1e-6 for w in waits)
    assert min(waits) < 0.95 * nominal and max(waits) > 1.05 * nominal  # spread: replicas do not stampede


def test_jitter_keeps_a_revisions_attempts_in_order():
    # the largest jitter allowed still leaves every wait > 0: a later attempt never overtakes an earlier one
    schedule, rng = PushSchedule(delays=(0.001,), jitter=0.99, max_age_s=DAY), random.Random(3)
    at = T0
    for n in range(1, 200):
        nxt = next_attempt_at(schedule, n, T0, at, rng)
        assert nxt is not None and nxt > at
        at = nxt


def test_schedule_is_exhausted_after_the_last_attempt_within_max_age():
    last = T0 + timedelta(seconds=236105)
    assert next_attempt_at(EXACT, 8, T0, T0 + timedelta(seconds=149705), random.Random(0)) == last
    assert next_attempt_at(EXACT, 9, T0, last, random.Random(0)) is None


def test_the_number_of_attempts_does_not_depend_on_jitter():
    schedule = PushSchedule(jitter=0.5)
    for seed in range(20):
        rng, at, attempts = random.Random(seed), T0, 1
        while (nxt := next_attempt_at(schedule, attempts, T0, at, rng)) is not None:
            assert nxt <= T0 + timedelta(seconds=schedule.max_age_s)  # a jittered time is pulled back
            at, attempts = nxt, attempts + 1
        assert attempts == 9


def test_no_attempt_is_planned_past_max_age():
    # the 8th attempt failed late (slow answers, a parked breaker): the 9th is pulled back to the deadline
    deadline = T0 + timedelta(days=3)
    assert next_attempt_at(EXACT, 8, T0, T0 + timedelta(days=2, seconds=1), random.Random(0)) == deadline
    # and a failure at or past the deadline ends the round, whatever attempts remain
    assert next_attempt_at(EXACT, 3, T0, deadline, random.Random(0)) is None


def test_planned_attempts_counts_without_walking_the_schedule():
    assert planned_attempts(PushSchedule()) == 9
    assert planned_attempts(PushSchedule(delays=(0.001,), max_age_s=DAY)) == 86_400_001
    assert planned_attempts(PushSchedule(delays=(10.0, 20.0), max_age_s=5.0)) == 1  # only the first try


def test_max_attempts_caps_the_schedule():
    capped = PushSchedule(delays=(1.0,), max_attempts=3, jitter=0.0)
    assert nominal_attempts(capped) == [0, 1, 2]
    assert next_attempt_at(capped, 2, T0, T0, random.Random(0)) is not None
    assert next_attempt_at(capped, 3, T0, T0, random.Random(0)) is None


@pytest.mark.parametrize("bad", [{"delays": ()}, {"delays": (5.0, 0.0)}, {"jitter": 1.0}, {"jitter": -0.1}])
def test_invalid_schedules_are_refused(bad):
    with pytest.raises(ValueError):
        PushSchedule(**bad)


def test_durations_parse_from_text_json_and_numbers():
    assert parse_durations("5s,5m,30m,2h,5h,10h,1d") == DEFAULT_PUSH_SCHEDULE
    assert parse_durations('["250ms", 2, "1.5h"]') == (0.25, 2.0, 5400.0)
    assert parse_durations([timedelta(minutes=1), "3d"]) == (60.0, 3 * DAY)
    with pytest.raises(ValueError):
        parse_durations("5 minutes")


def test_settings_read_the_schedule_and_threshold_from_the_environment(monkeypatch):
    monkeypatch.setenv("REPLENISH_ORDERS_PUSH_SCHEDULE", "1s, 1m, 1h")
    monkeypatch.setenv("REPLENISH_ORDERS_PUSH_MAX_AGE", "2d")
    monkeypatch.setenv("REPLENISH_ORDERS_UNRESPONSIVE_AFTER_ATTEMPT", "3")
    plan = OrdersSettings().push_plan
    assert (plan.delays, plan.max_age_s, plan.unresponsive_after, plan.max_attempts) == (
        (1.0, 60.0, 3600.0), 2 * DAY, 3, None)


def test_default_settings_give_the_default_schedule():
    plan = OrdersSettings().push_plan
    assert (plan.delays, plan.max_age_s, plan.jitter, plan.unresponsive_after) == (
        DEFAULT_PUSH_SCHEDULE, 3 * DAY, 0.1, 5)


def test_deprecated_retry_settings_still_give_their_ladder_unless_a_schedule_is_set():
    legacy = OrdersSettings(retry_base_s=0.2, retry_cap_s=0.5, retry_max_attempts=4).push_plan
    assert legacy.delays == legacy_schedule(0.2, 0.5, 4) == (0.2, 0.4, 0.5) and legacy.max_attempts == 4
    explicit = OrdersSettings(retry_base_s=0.2, push_schedule="1s,2s").push_plan
    assert explicit.delays == (1.0, 2.0)


def test_invalid_schedule_setting_is_refused():
    with pytest.raises(ValueError):
        OrdersSettings(push_schedule="5s,0s")


# --- Standard Webhooks headers ---

def _push(secret: str, timestamp: int | None = None) -> tuple[bytes, dict[str, str], str]:
    po = sent()
    body, key = push_body(po), idempotency_key(po.po_id, po.send_revision)
    return body, push_headers(po.po_id, key, body, secret, timestamp or int(time.time())), key


def test_push_carries_both_signatures_and_webhook_id_is_the_idempotency_key():
    body, headers, key = _push("s3cret")
    assert headers["Idempotency-Key"] == headers["webhook-id"] == key
    assert headers["X-Replenish-Signature"] == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["webhook-signature"].startswith("v1,") and headers["webhook-timestamp"].isdigit()
    assert headers["Content-Type"] == "application/json"


def test_webhook_signature_verifies_with_the_reference_library_for_a_whsec_secret():
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    body, headers, _ = _push(secret)
    assert Webhook(secret).verify(body, headers)["po_id"] == sent().po_id
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_webhook_signature_of_a_plain_secret_uses_its_bytes():
    body, headers, key = _push("s3cret-supplier")
    assert Webhook(b"s3cret-supplier").verify(body, headers)  # bytes: the library uses them as the key
    # and by hand, the few lines docs/orders.md gives suppliers
    signed = f"{key}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(b"s3cret-supplier", signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_a_replayed_push_is_refused_after_the_five_minute_tolerance():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body, old, _ = _push(secret, int(time.time()) - 301)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, old)
    forged = {**old, "webhook-timestamp": str(int(time.time()))}  # a fresh timestamp breaks the signature
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, forged)


def test_each_attempt_signs_its_own_timestamp_over_the_same_body():
    _, first, _ = _push("s", 1_800_000_000)
    _, second, _ = _push("s", 1_800_000_060)
    assert first["X-Replenish-Signature"] == second["X-Replenish-Signature"]
    assert first["webhook-id"] == second["webhook-id"] and first["webhook-signature"] != second["webhook-signature"]


@pytest.mark.parametrize(("secret", "key"), [
    ("whsec_" + base64.b64encode(b"abc123").decode(), b"abc123"),
    ("whsec_" + base64.b64encode(b"abcd").decode().rstrip("="), b"abcd"),  # unpadded, as the libraries accept
    ("whsec_", b"whsec_"),  # nothing to decode: the whole secret's bytes
    ("whsec_a", b"whsec_a"),  # not base64: the whole secret's bytes
    ("plain", b"plain"),
])
def test_signing_key_decodes_whsec_secrets_only(secret, key):
    assert signing_key(secret) == key


def test_standard_signature_is_over_id_timestamp_and_body():
    # the published test vector of Standard Webhooks (its reference libraries test against it)
    sig = standard_signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}',
                             "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _docs_verifier():
    """The verification helper docs/orders.md gives suppliers, run as written."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "orders.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify_replenish_push" in b]
    scope: dict = {}
    exec(block, scope)
    return scope["verify_replenish_push"]


@pytest.mark.parametrize("secret", ["s3cret-supplier", "whsec_" + base64.b64encode(b"q" * 24).decode(), "whsec_"])
def test_the_helper_in_the_docs_verifies_a_push_and_refuses_a_replay_or_a_change(secret):
    verify = _docs_verifier()
    body, headers, _ = _push(secret)
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify("another-secret", headers, body)
    _, stale, _ = _push(secret, int(time.time()) - 301)
    assert not verify(secret, stale, body)
