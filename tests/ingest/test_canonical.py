"""validate_event: the contract's bounds and error wording for every §3 event type."""
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.canonical import CanonicalEvent, ItemData, SaleData, validate_event

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def sale(**data_overrides):
    data = {"sku": "6901234567892", "location": "store-12", "quantity": 2, "unit": "each"}
    data.update(data_overrides)
    return {"id": "pos-12-000123", "source": "pos/store-12", "type": "sale",
            "time": "2026-11-21T10:15:00+08:00", "data": data}


def event(kind, data, **envelope):
    return {"id": "e-1", "source": "erp", "type": kind, "time": "2026-11-21T10:00:00Z", "data": data,
            **envelope}


def test_contract_example_sale_is_valid_and_time_becomes_utc():
    result = validate_event(sale(), NOW)
    assert isinstance(result, CanonicalEvent)
    assert result.time == datetime(2026, 11, 21, 2, 15, tzinfo=UTC)
    assert isinstance(result.data, SaleData) and result.data.quantity == 2.0


@pytest.mark.parametrize("bad", [None, 1, 2.5, "sale", [], [{"id": 1}], True])
def test_non_object_is_rejected_as_event(bad):
    assert validate_event(bad, NOW) == ["event: must be a JSON object"]


def test_unknown_type_names_the_type():
    result = validate_event({**sale(), "type": "teleport"}, NOW)
    assert result == ["type: unknown event type 'teleport'"]


def test_missing_timezone_is_rejected():
    assert validate_event({**sale(), "time": "2026-11-21T10:15:00"}, NOW) == ["time: timezone required"]


def test_time_more_than_a_day_ahead_is_rejected_but_23_hours_is_fine():
    assert validate_event({**sale(), "time": "2026-11-22T12:00:01Z"}, NOW) == [
        "time: more than 1 day in the future"]
    assert isinstance(validate_event({**sale(), "time": "2026-11-22T11:00:00Z"}, NOW), CanonicalEvent)


@pytest.mark.parametrize(("quantity", "message"), [
    (0, "must be > 0"), (-1, "must be > 0"), ("abc", 'must be a number, not the text "abc"'),
    ("5", 'must be a number, not the text "5"'), (True, "must be a number"),
    (None, "must be a number"), (1e308, "must be at most 1e9 in absolute value"),
    (10**400, "must be at most 1e9 in absolute value"), (float("nan"), "must be a finite number"),
    (float("inf"), "must be a finite number"), ("NaN", 'must be a number, not the text "NaN"'),
    ([1], "must be a number"), ({"v": 1}, "must be a number"),
])
def test_bad_sale_quantity_gets_a_field_path(quantity, message):
    assert validate_event(sale(quantity=quantity), NOW) == [f"data.quantity: {message}"]


def test_empty_and_whitespace_codes_are_rejected_and_trimmed_codes_kept():
    result = validate_event({**sale(sku="   "), "id": "", "source": " \t"}, NOW)
    assert result == ["id: must not be empty", "source: must not be empty", "data.sku: must not be empty"]
    trimmed = validate_event(sale(sku="  ＳＫＵ-1\u3000"), NOW)
    assert trimmed.data.sku == "SKU-1"  # NFKC turns full-width letters and the ideographic space to ASCII


def test_overlong_id_is_rejected():
    assert validate_event({**sale(), "id": "x" * 201}, NOW) == ["id: must be at most 200 characters"]


def test_every_error_of_one_event_is_reported():
    result = validate_event({"type": "sale", "time": 5, "data": {"quantity": -2}}, NOW)
    assert result == ["id: required", "source: required", "time: must be an ISO 8601 date-time string",
                      "data.sku: required", "data.location: required", "data.quantity: must be > 0"]


def test_stock_count_allows_zero_but_not_negative_on_hand():
    ok = validate_event(event("stock_count", {"sku": "A", "location": "L", "on_hand": 0}), NOW)
    assert isinstance(ok, CanonicalEvent)
    bad = validate_event(event("stock_count", {"sku": "A", "location": "L", "on_hand": -1}), NOW)
    assert bad == ["data.on_hand: must be ≥ 0"]


def test_stock_adjustment_reason_must_be_in_enum():
    bad = validate_event(event("stock_adjustment", {"sku": "A", "location": "L", "quantity": -3,
                                                    "reason": "lost"}), NOW)
    assert bad == [
        "data.reason: must be one of receipt, scrap, damage, correction, transfer_in or transfer_out"]


def test_item_conversions_and_aliases_are_checked_per_entry():
    bad = validate_event(event("item", {"sku": "A", "name": "Tea", "base_unit": "each",
                                        "unit_conversions": {"case": -1, "": 3},
                                        "aliases": ["", 5, None]}), NOW)
    assert bad == ["data.unit_conversions.case: must be > 0", 'data.unit_conversions[""]: must not be empty',
                   "data.aliases[0]: must not be empty",
                   'data.aliases[1]: must be a string (codes are text: send 6901234567892 as "6901234567892")',
                   "data.aliases[2]: must be a string"]


def test_item_units_are_case_folded_and_base_unit_must_convert_to_one():
    good = validate_event(event("item", {"sku": "A", "name": "Tea", "base_unit": "Each",
                                         "unit_conversions": {" CASE ": 12, "箱": 24}}), NOW)
    assert isinstance(good.data, ItemData)
    assert good.data.base_unit == "each" and good.data.unit_conversions == {"case": 12.0, "箱": 24.0}
    bad = validate_event(event("item", {"sku": "A", "name": "Tea", "base_unit": "each",
                                        "unit_conversions": {"each": 2}}), NOW)
    assert bad == ["data.unit_conversions.each: the base unit converts to 1, not 2"]


def test_location_kind_timezone_and_country_are_checked():
    bad = validate_event(event("location", {"location": "A", "name": "x", "kind": "shop",
                                            "timezone": "Mars/Base", "country": "CHN"}), NOW)
    assert bad == ["data.kind: must be one of store, warehouse or online",
                   "data.timezone: unknown IANA timezone 'Mars/Base'",
                   "data.country: must be an ISO 3166-1 alpha-2 code such as 'CN'"]
    good = validate_event(event("location", {"location": "A", "name": "x", "kind": "store",
                                             "country": "cn"}), NOW)
    assert good.data.timezone == "UTC" and good.data.country == "CN"


def test_promotion_dates_accept_dates_and_aware_datetimes_and_keep_order():
    good = validate_event(event("promotion", {"sku": "A", "start": "2026-11-10",
                                              "end": "2026-11-12T23:00:00+08:00"}), NOW)
    assert good.data.start == date(2026, 11, 10)
    backwards = event("promotion", {"sku": "A", "start": "2026-11-10", "end": "2026-11-01"})
    assert validate_event(backwards, NOW) == ["data.end: must not be before start"]
    assert validate_event(event("promotion", {"sku": "A", "start": "2026-11-10T08:00", "end": "2026-11-11"}),
                          NOW) == ["data.start: timezone required (or give a plain date)"]


def test_policy_service_level_is_an_open_interval_and_min_not_above_max():
    assert validate_event(event("policy", {"service_level": 1}), NOW) == [
        "data.service_level: must be between 0 and 1 (exclusive)"]
    inverted = event("policy", {"sku": "A", "min": 5, "max": 2})
    assert validate_event(inverted, NOW) == ["data.max: must be ≥ min"]


def test_supplier_secrets_are_refused():
    result = validate_event(event("supplier", {"supplier_id": "S", "name": "n", "api_key": "k"}), NOW)
    assert result == ["data.api_key: secrets must not be sent as master data"]


def test_cloudevents_envelope_is_accepted_and_checked():
    envelope = {**sale(), "specversion": "1.0", "datacontenttype": "application/json", "subject": "store-12"}
    assert validate_event(envelope, NOW).subject == "store-12"
    assert validate_event({**envelope, "specversion": "0.3"}, NOW) == ["specversion: must be '1.0'"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries(
    {"id": json_values, "source": json_values,
     "type": st.sampled_from(["sale", "item", "policy", "promotion"]),
     "time": json_values | st.just("2026-11-21T10:00:00Z"), "data": json_values})))
def test_validate_event_never_raises_on_arbitrary_json(obj):
    result = validate_event(obj, NOW)
    if not isinstance(result, CanonicalEvent):
        assert result and all(isinstance(e, str) and ": " in e for e in result)
        assert not any("could not be validated" in e for e in result)
