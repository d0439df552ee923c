"""Rows the batch path writes: canonical envelope bytes, signed ledger effects, quarantine entries."""
from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.domain.master import MasterSnapshot, apply_master_in_place
from services.ingest.domain.normalize import normalize
from services.ingest.domain.outcomes import Pending, Rejected, Unreadable
from services.ingest.envelopes import envelope_bytes, envelope_id, mark_batch, outbox_row
from services.ingest.handlers import ledger_row, quarantine_row
from shared.events import topics
from shared.events.canonical import validate_event
from shared.events.envelope import Envelope

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def snapshot() -> MasterSnapshot:
    snap = MasterSnapshot()
    for obj in ({"id": "i", "source": "erp", "type": "item", "time": "2026-11-01T00:00:00Z",
                 "data": {"sku": "SKU-1", "name": "Tea", "base_unit": "each", "unit_conversions": {"case": 12},
                          "aliases": ["6901234567892"]}},
                {"id": "l", "source": "erp", "type": "location", "time": "2026-11-01T00:00:00Z",
                 "data": {"location": "store-12", "name": "S", "kind": "store"}}):
        apply_master_in_place(snap, validate_event(obj, NOW))
    return snap


def movement(kind: str, **data) -> object:
    event = validate_event({"id": f"{kind}-1", "source": "pos/12", "type": kind, "time": "2026-11-21T10:15:00+08:00",
                            "data": {"sku": "6901234567892", "location": "store-12", **data}}, NOW)
    return normalize(event, snapshot())


def test_outbox_row_is_a_cloudevent_keyed_by_location_and_sku():
    row = outbox_row(movement("sale", quantity=2, unit="case"))
    env = Envelope.from_bytes(row["payload"])
    assert row["topic"] == "replenish.ingest.sales.v1" and row["key"] == "store-12:SKU-1"
    assert env.type == "replenish.ingest.sale" and env.subject == "store-12:SKU-1"
    assert env.time == datetime(2026, 11, 21, 2, 15, tzinfo=UTC) and env.data["quantity"] == 24
    assert env.id == envelope_id("pos/12", "sale-1") != envelope_id("pos/12", "sale-2")


def test_ledger_rows_carry_signed_base_unit_effects():
    assert ledger_row(movement("sale", quantity=2, unit="case"))["quantity"] == -24
    assert ledger_row(movement("return", quantity=1))["quantity"] == 1
    assert ledger_row(movement("stock_adjustment", quantity=-3, reason="scrap"))["quantity"] == -3
    assert ledger_row(movement("stock_count", on_hand=7))["quantity"] == 7


def test_pending_and_rejected_become_quarantine_entries():
    event = validate_event({"id": "x", "source": "pos/12", "type": "sale", "time": "2026-11-21T10:15:00Z",
                            "data": {"sku": "NEW", "location": "store-12", "quantity": 1}}, NOW)
    pending = quarantine_row(Pending(event, "unknown_sku", "data.sku: unknown"), {"id": "x"}, "events")
    assert (pending["status"], pending["reason"], pending["source"]) == ("pending", "unknown_sku", "pos/12")
    native = {"receipt": "m3", "source": 7}
    rejected = quarantine_row(Rejected(["record 0: time: required"]), native, "mapping")
    assert rejected["status"] == "rejected" and rejected["raw"] == native and rejected["source"] is None
    assert quarantine_row(Rejected(["row 2: 3 cells"]), Unreadable(["row 2"], "c2"), "csv")["event_id"] == "c2"


def test_envelope_id_is_a_version_5_uuid_of_the_blake2b_digest():
    digest = hashlib.blake2b(b"ingest\x1fpos/12\x1fsale-1", digest_size=16).digest()
    assert envelope_id("pos/12", "sale-1") == str(uuid.UUID(bytes=digest, version=5))


@given(source=st.text(max_size=20), event_id=st.text(max_size=20), kind=st.sampled_from(["sale", "item", "x\"y"]),
       time=st.text(max_size=30), key=st.text(max_size=20) | st.none(),
       data=st.dictionaries(st.text(max_size=8), st.text(max_size=8) | st.floats(allow_nan=False) | st.none()))
def test_envelope_bytes_are_orjsons_compact_form_of_the_envelope(source, event_id, kind, time, key, data):
    expected = orjson.dumps({"specversion": "1.0", "id": envelope_id(source, event_id),
                             "source": f"replenish/ingest/{source}", "type": f"replenish.ingest.{kind}",
                             "time": time, "subject": key, "datacontenttype": "application/json", "data": data})
    assert envelope_bytes(source, event_id, kind, time, key, data) == expected


@given(source=st.text(max_size=30), event_id=st.text(max_size=30))
def test_envelope_id_matches_the_uuid_module_for_any_key(source, event_id):
    digest = hashlib.blake2b(f"ingest\x1f{source}\x1f{event_id}".encode(), digest_size=16).digest()
    assert envelope_id(source, event_id) == str(uuid.UUID(bytes=digest, version=5))


def test_sale_and_stock_events_carry_their_batch_and_how_many_events_of_their_key_it_holds():
    def message(topic: str, key: str, n: int) -> tuple[str, str, bytes]:
        return topic, key, orjson.dumps({"id": f"{key}-{n}", "data": {"n": n}})

    batch = [message(topics.SALES, "s1:A", 1), message(topics.STOCK, "s1:A", 2), message(topics.SALES, "s1:B", 3)]
    marked = mark_batch(batch)
    attrs = [orjson.loads(payload) for _, _, payload in marked]
    assert [a["ingestkeyevents"] for a in attrs] == [2, 2, 1]  # both topics count
    assert len({a["ingestbatch"] for a in attrs}) == 1
    assert [(a["id"], a["data"]) for a in attrs] == [(f"{k}-{n}", {"n": n}) for k, n in
                                                     (("s1:A", 1), ("s1:A", 2), ("s1:B", 3))]
    assert mark_batch(batch) == marked  # a replayed batch carries the same attributes
    assert mark_batch(batch[1:])[0][2] != marked[1][2]  # another batch, another id
    # with master data in the batch nothing is marked: its movements wait for the quiet period, so the
    # master data (another topic, no one key) is applied first
    with_master = [*batch, message(topics.MASTER, "item:A", 4)]
    assert mark_batch(with_master) == with_master
    assert mark_batch([]) == []
