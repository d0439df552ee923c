"""The batch fast lane gives exactly what the general path gives for plain movements, and steps aside otherwise."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.domain.batch import process_batch
from services.ingest.domain.fastlane import Lookups, fast_batch
from services.ingest.domain.master import MasterSnapshot, apply_master_in_place
from services.ingest.domain.normalize import normalize
from services.ingest.domain.outcomes import Normalized
from services.ingest.envelopes import envelope_bytes, iso_time, outbox_row
from services.ingest.handlers import ledger_row
from shared.events.canonical import validate_event

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def snapshot() -> MasterSnapshot:
    snap = MasterSnapshot()
    for raw in ({"id": "i1", "source": "erp", "type": "item", "time": "2026-11-01T00:00:00Z",
                 "data": {"sku": "SKU-1", "name": "Tea", "base_unit": "each", "unit_conversions": {"case": 12},
                          "aliases": ["6901234567890"]}},
                {"id": "l1", "source": "erp", "type": "location", "time": "2026-11-01T00:00:00Z",
                 "data": {"location": "store-1", "name": "Store 1", "kind": "store"}}):
        out = normalize(validate_event(raw, NOW), snap)
        apply_master_in_place(snap, out.event)
    return snap


def _sale(i: int, **data) -> dict:
    return {"id": f"s-{i}", "source": "pos/1", "type": "sale", "time": "2026-11-21T10:00:00+08:00",
            "data": {"sku": "6901234567890", "location": "store-1", "quantity": 2, **data}}


def _general(items: list, snapshot: MasterSnapshot) -> list[tuple]:
    batch = process_batch(items, snapshot, NOW)
    assert all(isinstance(o, Normalized) for o in batch.outcomes)
    return [(outbox_row(o)["topic"], outbox_row(o)["key"], outbox_row(o)["payload"], ledger_row(o))
            for o in batch.outcomes]


def _lane(items: list, snapshot: MasterSnapshot) -> list[tuple]:
    lane = fast_batch(items, snapshot, NOW, iso=iso_time)
    assert lane is not None
    return [(m.topic, m.key, envelope_bytes(m.source, m.id, m.type, m.payload["time"], m.key, m.payload),
             {"source": m.source, "event_id": m.id, "type": m.type, "event_time": m.time,
              "location": m.payload["location"], "sku": m.payload["sku"], "quantity": m.effect}) for m in lane]


def test_plain_sales_returns_and_counts_match_the_general_path_byte_for_byte(snapshot):
    items = [_sale(1, unit="Case", unit_price=36, channel=" web ", order_id="77"),
             {"id": "2", "source": " pos/1 ", "type": "return", "time": "2026-11-21T01:00:00Z",
              "data": {"sku": " sku-1 ", "location": "ＳＴＯＲＥ-1", "quantity": 1.5}},
             {"id": "c-3", "source": "wms", "type": "stock_count", "time": "2026-11-21T01:00:00Z",
              "data": {"sku": "SKU-1", "location": "store-1", "on_hand": 0, "extra": "ignored"}}]
    lane = _lane(items, snapshot)
    assert lane == _general(items, snapshot)
    assert lane[0][3]["quantity"] == -24  # 2 cases of 12, a sale takes from stock
    assert lane[0][1] == "store-1:SKU-1"


@settings(max_examples=60, deadline=None)
@given(quantity=st.one_of(st.integers(1, 10**6), st.floats(0.001, 1e6)),
       unit=st.sampled_from([None, "each", "case", " CASE "]),
       price=st.one_of(st.none(), st.floats(0, 1e6)))
def test_any_plain_sale_matches_the_general_path(snapshot, quantity, unit, price):
    data = {"quantity": quantity}
    if unit is not None:
        data["unit"] = unit
    if price is not None:
        data["unit_price"] = price
    assert _lane([_sale(1, **data)], snapshot) == _general([_sale(1, **data)], snapshot)


@pytest.mark.parametrize("odd", [
    {"id": "x", "source": "pos/1", "type": "sale", "time": "2026-11-21T10:00:00Z",
     "data": {"sku": "NEW-SKU", "location": "store-1", "quantity": 1}},  # pending: unknown SKU
    {"id": "x", "source": "pos/1", "type": "sale", "time": "2026-11-21T10:00:00Z",
     "data": {"sku": "SKU-1", "location": "store-9", "quantity": 1}},  # pending: unknown location
    {"id": "x", "source": "pos/1", "type": "sale", "time": "2026-11-21T10:00:00Z",
     "data": {"sku": "SKU-1", "location": "store-1", "quantity": 1, "unit": "kg"}},  # unknown unit
    {"id": "x", "source": "pos/1", "type": "sale", "time": "2026-11-21T10:00:00",
     "data": {"sku": "SKU-1", "location": "store-1", "quantity": 1}},  # no timezone
    {"id": "x", "source": "pos/1", "type": "sale", "time": "2026-11-21T10:00:00Z",
     "data": {"sku": "SKU-1", "location": "store-1", "quantity": 1e9, "unit": "case"}},  # beyond 1e9 each
    {"id": "x", "source": "erp", "type": "location", "time": "2026-11-21T10:00:00Z",
     "data": {"location": "store-2", "name": "Store 2", "kind": "store"}},  # master data
    {"id": "x", "source": "pos/1", "type": ["sale"], "time": "2026-11-21T10:00:00Z", "data": {}},
    "not an object",
    _sale(1),  # repeats the id of the first event in the batch
])
def test_one_unusual_event_sends_the_whole_batch_to_the_general_path(snapshot, odd):
    assert fast_batch([_sale(1), odd], snapshot, NOW) is None
    assert fast_batch([_sale(1), _sale(2)], snapshot, NOW) is not None


@given(at=st.datetimes(timezones=st.just(UTC)))
def test_iso_time_writes_what_isoformat_writes(at):
    assert iso_time(at) == at.isoformat()


def test_iso_time_drops_zero_microseconds_like_isoformat():
    assert iso_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05+00:00"
    assert iso_time(datetime(1, 1, 1, 0, 0, 0, 7, tzinfo=UTC)) == "0001-01-01T00:00:00.000007+00:00"


def test_remembered_lookups_serve_only_the_snapshot_they_were_made_for(snapshot):
    lookups = Lookups(snapshot)
    assert fast_batch([_sale(1)], snapshot, NOW, lookups=lookups) is not None
    assert lookups.skus["6901234567890"][0] == "SKU-1"  # remembered for the next batch
    newer = snapshot.copy()
    newer.codes.clear()  # a snapshot where the SKU is unknown: stale memos must not resolve it
    assert fast_batch([_sale(2)], newer, NOW, lookups=lookups) is None
