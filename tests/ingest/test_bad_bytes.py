"""One bad event never sinks its batch, whatever its bytes (docs/contract.md §12): NUL, unpaired surrogates,
numbers that overflow, wrong JSON types — each rejected with its reason and kept storable in the quarantine."""
from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.consumers import RAW_TYPE, decode_raw
from services.ingest.domain.batch import process_batch
from services.ingest.domain.csv_door import CsvBatch, parse_csv
from services.ingest.domain.jsontext import NotJson, parse_json
from services.ingest.domain.outcomes import Rejected
from services.ingest.domain.storable import ESCAPED_NOTE, MAX_DEPTH, needs_escape, storable, storable_text
from services.ingest.handlers import quarantine_row
from shared.events.canonical import CanonicalEvent, lenient_types, validate_event
from tests.ingest.conftest import NOW

NOT_UNICODE = "must be valid Unicode text (an unpaired surrogate or a byte that is not UTF-8)"


def sale(**over) -> dict:
    event = {"id": "s-1", "source": "pos/12", "type": "sale", "time": "2026-11-21T10:00:00Z",
             "data": {"sku": "SKU-1", "location": "store-12", "quantity": 2}}
    data = over.pop("data", {})
    return {**event, **over, "data": {**event["data"], **data}}


def storable_in_postgres(value: object) -> bool:
    """What PostgreSQL's text and jsonb accept: no NUL, valid UTF-8 (no lone surrogate), no NaN or infinity."""
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")  # raises on surrogates and NaN
    strings: list[str] = []
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            todo.extend(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return all("\x00" not in text for text in strings)


@pytest.mark.parametrize(("event", "error"), [
    (sale(id="s\x001"), "id: must not contain control characters (U+0000)"),
    (sale(source="pos\x00"), "source: must not contain control characters (U+0000)"),
    (sale(data={"sku": "SKU\x00-1"}), "data.sku: must not contain control characters (U+0000)"),
    (sale(data={"sku": "SKU\x07"}), "data.sku: must not contain control characters (U+0007)"),
    (sale(id="s\ud800"), f"id: {NOT_UNICODE}"),
    (sale(data={"location": "店\udfff"}), f"data.location: {NOT_UNICODE}"),
    (sale(data={"quantity": math.inf}), "data.quantity: must be a finite number"),
    (sale(data={"unit_price": -math.inf}), "data.unit_price: must be a finite number"),
    (sale(data={"quantity": "5"}), 'data.quantity: must be a number, not the text "5"'),
    (sale(data={"sku": 6901234567892}), "data.sku: must be a string (codes are text: send 6901234567892 as "
                                        '"6901234567892")'),
    (sale(id=17), 'id: must be a string (codes are text: send 6901234567892 as "6901234567892")'),
])
def test_each_bad_byte_is_a_per_event_error_with_its_field(event, error):
    assert validate_event(event, NOW) == [error]


def test_texts_keep_tabs_and_newlines_but_not_nul():
    item = {"id": "i", "source": "erp", "type": "item", "time": "2026-11-21T10:00:00Z",
            "data": {"sku": "A", "name": "Tea\tgreen\nloose", "base_unit": "each"}}
    assert isinstance(validate_event(item, NOW), CanonicalEvent)
    item["data"]["name"] = "Tea\x00"
    assert validate_event(item, NOW) == ["data.name: must not contain control characters (U+0000)"]


def test_codes_padded_with_whitespace_controls_are_trimmed_not_rejected():
    event = validate_event(sale(id="\ts-1\n", data={"sku": " SKU-1\r\n"}), NOW)
    assert isinstance(event, CanonicalEvent) and event.id == "s-1" and event.data.sku == "SKU-1"


def test_stored_events_of_the_lenient_days_still_read():
    old = sale(data={"sku": 6901234567892, "quantity": "2"})
    assert isinstance(validate_event(old, NOW), list)
    with lenient_types():
        event = validate_event(old, NOW)
    assert isinstance(event, CanonicalEvent) and event.data.sku == "6901234567892" and event.data.quantity == 2
    assert isinstance(validate_event(old, NOW), list)  # strict again outside


@pytest.mark.parametrize("body", [
    b'[{"id": "a\\ud800"}]', b'[{"q": 1e309}]', b'[{"q": -1e309}]', b"[" + b"9" * 5000 + b"]",
    b'[{"id": "a\\u0000b"}]', "[\"\udc80\"]".encode("utf-8", "surrogatepass"),  # a surrogate as raw bytes
    b'[{"name": "caf\xe9"}]',  # Latin-1, not UTF-8: costs its own event only
])
def test_json_that_orjson_refuses_is_still_read(body):
    assert isinstance(parse_json(body), list)


@pytest.mark.parametrize("body", [b"[NaN]", b"{nope", b"[1,", b"[\xff]"])
def test_text_that_is_not_json_is_refused_whole(body):
    with pytest.raises(NotJson):
        parse_json(body)


def test_one_bad_event_never_sinks_the_batch(snapshot):
    body = (b'[{"id": "g1", "source": "pos", "type": "sale", "time": "2026-11-21T10:00:00Z",'
            b' "data": {"sku": "SKU-1", "location": "store-12", "quantity": 1}},'
            b' {"id": "b\\u0000", "source": "pos", "type": "sale", "time": "2026-11-21T10:00:00Z",'
            b' "data": {"sku": "SKU-1", "location": "store-12", "quantity": 1}},'
            b' {"id": "b2", "source": "pos\\ud800", "type": "sale", "time": "2026-11-21T10:00:00Z",'
            b' "data": {"sku": "SKU-1", "location": "store-12", "quantity": 1e309, "unit_price": 1e309}},'
            b' {"id": "b3", "source": "pos", "type": "sale", "time": "2026-11-21T10:00:00Z",'
            b' "data": {"sku": 6901234567892, "location": "store-12", "quantity": "5"}},'
            b' {"id": "g2", "source": "pos", "type": "sale", "time": "2026-11-21T10:00:00Z",'
            b' "data": {"sku": "SKU-1", "location": "store-12", "quantity": 2}}]')
    batch = process_batch(parse_json(body), snapshot, NOW)
    response = batch.response()
    assert response["accepted"] == 2
    assert [(r["index"], len(r["errors"])) for r in response["rejected"]] == [(1, 1), (2, 3), (3, 2)]


def test_quarantine_rows_of_bad_bytes_are_storable_and_say_they_were_escaped():
    raw = parse_json(b'{"id": "b\\u0000\\ud800", "source": "pos\\u0000", "type": "t\\ud83d",'
                     b' "data": {"k\\u0000": [1e309, -1e309], "quantity": 1e309}}')
    errors = validate_event(raw, NOW)
    row = quarantine_row(Rejected(errors), raw, "events")
    assert storable_in_postgres(row["raw"]) and storable_in_postgres(row["errors"])
    assert all(storable_in_postgres(row[name]) for name in ("source", "event_id"))
    assert row["event_id"] == "b\\u0000\\ud800" and row["source"] == "pos\\u0000"
    assert row["raw"]["data"] == {"k\\u0000": ["Infinity", "-Infinity"], "quantity": "Infinity"}
    assert row["errors"][-1] == ESCAPED_NOTE


def test_a_clean_rejection_is_stored_as_sent():
    raw = sale(data={"quantity": -1})
    row = quarantine_row(Rejected(validate_event(raw, NOW)), raw, "events")
    assert row["raw"] is raw and ESCAPED_NOTE not in row["errors"]


def test_long_escaped_codes_stay_within_their_columns():
    assert len(storable_text("\x00" * 200, 200)) == 200
    row = quarantine_row(Rejected(["x"]), {"id": "\x00" * 199, "source": "\x00" * 199}, "events")
    assert len(row["event_id"]) <= 200 and len(row["source"]) <= 200


def test_storable_cuts_deep_nesting_and_giant_integers():
    deep: list = []
    for _ in range(MAX_DEPTH + 10):
        deep = [deep]
    assert needs_escape(deep) and storable_in_postgres(storable(deep))
    assert storable(10**5000) == f"<integer of {(10**5000).bit_length()} bits>"
    assert storable({"a": [1, "x", None, True, 2.5]}) == {"a": [1, "x", None, True, 2.5]}


def test_csv_rows_with_nul_or_overflow_fail_only_their_row(snapshot):
    text = ("id,source,time,sku,location,quantity\n"
            "c\x001,pos,2026-11-21T10:00:00Z,SKU-1,store-12,1\n"
            "c2,pos,2026-11-21T10:00:00Z,SKU-1,store-12,1e309\n"
            "c3,pos,2026-11-21T10:00:00Z,SKU-1,store-12,3\n")
    parsed = parse_csv(text, "sale")
    assert isinstance(parsed, CsvBatch)
    response = process_batch(parsed.records, snapshot, NOW).response()
    assert response["accepted"] == 1
    assert [r["errors"] for r in response["rejected"]] == [["id: must not contain control characters (U+0000)"],
                                                           ["data.quantity: must be a finite number"]]
    row = quarantine_row(Rejected(response["rejected"][0]["errors"]), parsed.records[0], "csv")
    assert storable_in_postgres(row["raw"]) and row["event_id"] == "c\\u00001"


def test_raw_topic_message_that_is_not_json_is_kept_for_the_quarantine():
    record = SimpleNamespace(topic="replenish.ingest.raw.v1", partition=0, offset=7, value=b"\xff\x00{not json")
    env = decode_raw(record)
    assert env.type == RAW_TYPE and env.data["reason"].startswith("not JSON")
    assert env.data["unreadable"].startswith("\ufffd\x00{not")
    surrogate = SimpleNamespace(topic="t", partition=0, offset=8, value=b'{"id": "a\\ud800", "source": "s"}')
    assert decode_raw(surrogate).data == {"event": {"id": "a\ud800", "source": "s"}}


def test_now_is_not_needed_to_reject_bytes():
    assert validate_event(sale(id="\x00"), datetime(2000, 1, 1, tzinfo=UTC))[0].startswith("id:")


# Any JSON value, text drawn from every code point (controls, NUL and unpaired surrogates included).
_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                     max_leaves=8)
_ITEM = {"id": "i-1", "source": "erp", "type": "item", "time": "2026-11-21T10:00:00Z",
         "data": {"sku": "A", "name": "Tea", "base_unit": "each", "unit_conversions": {"case": 12},
                  "aliases": ["x"], "unit_cost": 1.5}}


def _codes_are_clean(event: CanonicalEvent) -> bool:
    values = [event.id, event.source, *(v for v in event.data.__dict__.values() if isinstance(v, str))]
    return all(storable_text(v) == v and "\x00" not in v for v in values)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(base=st.sampled_from([sale(), _ITEM]), where=st.sampled_from(["id", "source", "type", "time", "data"]),
       field=st.sampled_from(["sku", "location", "quantity", "unit", "unit_price", "name", "aliases",
                              "unit_conversions", "base_unit"]), value=_JSON)
def test_whatever_a_field_holds_the_event_is_valid_and_clean_or_rejected_and_storable(base, where, field, value):
    event = json.loads(json.dumps(base))
    if where == "data":
        event["data"][field] = value
    else:
        event[where] = value
    checked = validate_event(event, NOW)
    if isinstance(checked, CanonicalEvent):
        assert _codes_are_clean(checked)
    else:
        assert checked and all(isinstance(e, str) for e in checked)
        row = quarantine_row(Rejected(checked), event, "events")
        assert storable_in_postgres(row["raw"]) and storable_in_postgres(row["errors"])
        assert all(v is None or storable_in_postgres(v) for v in (row["source"], row["event_id"]))
