"""The pydantic-free fast path for plain movements agrees with the full validator, or steps aside."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.canonical import CanonicalEvent, validate_event
from shared.events.canonical import validate as canonical

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
codes = st.one_of(st.text(max_size=8), st.integers(-5, 10**14), st.just(" ＳＫＵ-1 "), st.none(), st.booleans())
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**10, 10**10),
                    st.sampled_from(["3", " 2.5 ", "x", "", "1e10"]), st.none(), st.booleans())
times = st.sampled_from(["2026-11-21T10:15:00+08:00", "2026-11-21T10:15:00", "2026-11-23T10:15:00Z",
                         "yesterday", " 2026-11-21T10:15:00Z ", None, 5])
data = st.fixed_dictionaries({}, optional={"sku": codes, "location": codes, "quantity": numbers,
                                           "on_hand": numbers, "unit": codes, "unit_price": numbers,
                                           "channel": codes, "order_id": codes, "extra": codes})
good_code = st.one_of(st.text(min_size=1, max_size=6).filter(str.strip), st.integers(0, 10**13))
good_number = st.one_of(st.floats(0.001, 1e9), st.integers(1, 10**9))
likely_valid = st.fixed_dictionaries({"type": st.sampled_from(["sale", "return", "stock_count"]), "id": good_code,
                                      "source": good_code, "time": st.just("2026-11-21T10:15:00+08:00"),
                                      "data": st.fixed_dictionaries(
                                          {"sku": good_code, "location": good_code, "quantity": good_number,
                                           "on_hand": good_number},
                                          optional={"unit": good_code, "unit_price": good_number,
                                                    "channel": good_code})})
anything = st.fixed_dictionaries({"type": st.sampled_from(["sale", "return", "stock_count", " sale", "item"]),
                                "id": codes, "source": codes, "time": times, "data": data})


def full_path(obj: dict) -> CanonicalEvent | list[str]:
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(canonical, "_fast_movement", lambda obj, now: None)
        return validate_event(obj, NOW)


@settings(max_examples=400, deadline=None)
@given(st.one_of(likely_valid, anything))
def test_fast_path_equals_full_validation_or_defers(obj):
    fast = canonical._fast_movement(obj, NOW)
    slow = full_path(obj)
    if fast is None:
        return
    assert isinstance(slow, CanonicalEvent)
    assert (fast.id, fast.source, fast.type, fast.time) == (slow.id, slow.source, slow.type, slow.time)
    assert fast.data.__dict__ == slow.data.__dict__ and type(fast.data) is type(slow.data)
    assert fast.data.model_fields_set == slow.data.model_fields_set


def test_fast_path_takes_the_common_sale():
    sale = {"id": " pos-1 ", "source": "pos/12", "type": "sale", "time": "2026-11-21T10:15:00+08:00",
            "data": {"sku": " 6901234567892", "location": "store-12", "quantity": 2, "unit": "Case"}}
    fast = canonical._fast_movement(sale, NOW)
    assert fast is not None and fast.id == "pos-1" and fast.data.sku == "6901234567892"
    assert fast.data.quantity == 2.0 and fast.data.unit == "case" and fast.time.hour == 2
