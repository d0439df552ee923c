"""Source mappings: the worked examples in docs/mappings, clear errors, time formats, properties."""
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.domain.mapping import SourceMapping, validate_mapping
from services.ingest.domain.mapping_apply import apply_mapping
from shared.events.canonical import CanonicalEvent, validate_event

DOCS = Path(__file__).resolve().parents[2] / "docs" / "mappings"
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def mapping(**fields):
    base = {"id": "id", "type": {"const": "sale"}, "time": "ts"}
    checked = validate_mapping({"source": "feed", "fields": {**base, **fields}})
    assert isinstance(checked, SourceMapping), checked
    return checked


@pytest.mark.parametrize("name", ["pos-sales", "wms-movements", "erp-items"])
def test_worked_example_yields_its_documented_output(name):
    checked = validate_mapping(json.loads((DOCS / f"{name}.mapping.json").read_text()))
    assert isinstance(checked, SourceMapping), checked
    records = json.loads((DOCS / f"{name}.input.json").read_text())
    events = [validate_event(apply_mapping(checked, record), NOW) for record in records]
    assert all(isinstance(event, CanonicalEvent) for event in events)
    dumped = [event.model_dump(mode="json", exclude_none=True) for event in events]
    assert dumped == json.loads((DOCS / f"{name}.output.json").read_text())


def test_pos_local_time_in_shanghai_becomes_utc():
    checked = validate_mapping(json.loads((DOCS / "pos-sales.mapping.json").read_text()))
    record = json.loads((DOCS / "pos-sales.input.json").read_text())[0]
    assert apply_mapping(checked, record)["time"] == "2026-11-21T10:15:00+08:00"


def test_bad_mapping_gets_one_clear_error_per_problem():
    errors = validate_mapping({"timezone": "Mars/Base", "fields": {
        "id": {"path": "a..b"}, "type": {"const": "teleport"}, "time": {"path": "ts", "format": "dd/mm"},
        "data.qty": {"path": "q"}, "data.sku": {"path": "x", "const": "y"}, "weird": "w"}})
    assert errors == [
        "fields.data.sku: give exactly one of path, const or template"]
    errors = validate_mapping({"timezone": "Mars/Base", "fields": {
        "id": {"path": "a..b"}, "type": {"const": "teleport"}, "time": {"path": "ts", "format": "dd/mm"},
        "data.qty": {"path": "q"}, "weird": "w"}})
    assert errors == [
        "timezone: unknown IANA timezone 'Mars/Base'",
        "source: required (or map fields.source)",
        "fields.type.const: unknown event type 'teleport'",
        "fields.id.path: invalid path 'a..b': bad segment ''",
        "fields.time.format: must be iso, epoch_s, epoch_ms or a strptime pattern like '%d/%m/%Y'",
        "fields.weird: target must be id, source, type, time, subject or data.<field>"]


def test_unknown_data_field_for_a_constant_type_lists_the_known_ones():
    errors = validate_mapping({"source": "s", "fields": {"id": "i", "time": "t", "type": {"const": "return"},
                                                         "data.qty": "q"}})
    assert errors == [
        "fields.data.qty: 'qty' is not a field of return (known: sku, location, quantity, unit)"]


@pytest.mark.parametrize("bad", [None, [], "x", {"fields": "nope"}, {"fields": {"id": 5}}])
def test_validate_mapping_never_raises(bad):
    assert isinstance(validate_mapping(bad), list)


def test_record_errors_name_the_canonical_field():
    checked = mapping(**{"data.quantity": {"path": "qty", "as": "number"}, "data.sku": "sku",
                         "data.unit": {"path": "u", "map": {"CS": "case"}}})
    errors = apply_mapping(checked, {"id": "1", "ts": "2026-11-21T10:00:00", "qty": "two", "u": "BX"})
    assert errors == ["time: '2026-11-21T10:00:00' has no timezone and the mapping sets none",
                      "data.quantity: 'two' is not a number", "data.sku: source field 'sku' missing",
                      "data.unit: 'BX' not in value map (known: CS)"]
    assert apply_mapping(checked, ["not", "a", "record"]) == ["record: must be a JSON object"]


@pytest.mark.parametrize(("fmt", "raw", "zone", "expected"), [
    ("epoch_s", 1795226400, None, "2026-11-21T02:00:00+00:00"),
    ("epoch_ms", "1795226400000", None, "2026-11-21T02:00:00+00:00"),
    ("%d/%m/%Y %H:%M", "21/11/2026 10:00", "Asia/Shanghai", "2026-11-21T10:00:00+08:00"),
    ("iso", "2026-07-01T10:00:00", "Europe/Berlin", "2026-07-01T10:00:00+02:00"),
    ("iso", "2026-11-21T10:00:00-05:00", "Europe/Berlin", "2026-11-21T10:00:00-05:00"),
])
def test_time_formats(fmt, raw, zone, expected):
    checked = mapping(time={"path": "ts", "format": fmt, **({"timezone": zone} if zone else {})})
    assert apply_mapping(checked, {"id": "1", "ts": raw})["time"] == expected


def test_unit_and_alias_tables_translate_feed_codes():
    checked = validate_mapping({"source": "s", "units": {"CS": "case"}, "aliases": {"A1": "SKU-1"},
                                "fields": {"id": "i", "time": "t", "type": {"const": "sale"},
                                           "data.unit": "u", "data.sku": "s"}})
    event = apply_mapping(checked, {"i": 1, "t": "2026-11-21T10:00:00Z", "u": "CS", "s": "A1"})
    assert event["data"] == {"unit": "case", "sku": "SKU-1"} and event["id"] == 1


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.none() | st.integers() | st.text(max_size=5)
                       | st.lists(st.integers(), max_size=2), max_size=5))
def test_apply_mapping_never_raises_on_arbitrary_records(record):
    checked = mapping(**{"data.quantity": {"path": "q", "as": "number"},
                         "data.sku": {"template": "{a}-{b[0]}"},
                         "data.unit_price": {"path": "p", "as": "integer", "optional": True}})
    result = apply_mapping(checked, record)
    assert isinstance(result, dict | list)
    if isinstance(result, dict):
        assert not isinstance(validate_event(result, NOW), Exception)


@settings(max_examples=100, deadline=None)
@given(quantity=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
       sku=st.text(min_size=1, max_size=20))
def test_mapped_values_arrive_unchanged(quantity, sku):
    checked = mapping(**{"data.quantity": {"path": "q", "as": "number"}, "data.sku": "s"})
    event = apply_mapping(checked, {"id": "1", "ts": "2026-11-21T10:00:00Z", "q": str(quantity), "s": sku})
    if sku.strip():
        assert event["data"] == {"quantity": quantity, "sku": sku}
    else:
        assert event == ["data.sku: source field 's' missing"]
