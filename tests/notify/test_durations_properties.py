"""Durations of the config, and properties that must hold for any input (SMS length, key determinism)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify.domain import apply_event, delivery_key, format_duration, parse_duration, render
from services.notify.domain.templates import SMS_LIMIT
from tests.notify.conftest import T0, alert_event


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("30s", 30), ("5m", 300), ("4h", 14400), ("1h30m", 5400), ("2d", 172800), ("250ms", 0.25)],
)
def test_durations_parse_like_alertmanager(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize("text", ["", "5x", "5", "m5", "30m1h", "-5m", "1.5h", "5 m"])
def test_bad_durations_are_rejected_naming_the_text(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@settings(max_examples=60, deadline=None)
@given(summary=_text, sku=st.text(min_size=1, max_size=80), alert_id=st.text(min_size=1, max_size=60),
       locale=st.sampled_from(["en", "zh"]))
def test_sms_never_exceeds_limit(summary, sku, alert_id, locale):
    alert = apply_event(None, alert_event(sku=sku, summary=summary), alert_id=alert_id, now=T0).state
    assert len(render(alert, "sms", locale, base_url="https://replenish.example.com").body) <= SMS_LIMIT


@settings(max_examples=60, deadline=None)
@given(a=st.tuples(st.text(max_size=20), st.integers(1, 10**6), st.text(max_size=20)),
       b=st.tuples(st.text(max_size=20), st.integers(1, 10**6), st.text(max_size=20)))
def test_delivery_keys_collide_only_for_identical_inputs(a, b):
    assert (delivery_key(*a) == delivery_key(*b)) == (a == b)
