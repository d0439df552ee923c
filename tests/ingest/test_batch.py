"""process_batch: the §3 response, duplicates, master data earlier in a batch, pending release."""
from services.ingest.domain.batch import duplicate_ids, process_batch, release_pending
from services.ingest.domain.master import MasterSnapshot
from services.ingest.domain.outcomes import Normalized
from tests.ingest.conftest import NOW, valid


def raw(kind, data, id, source="erp", time="2026-11-21T10:00:00Z"):
    return {"id": id, "source": source, "type": kind, "time": time, "data": data}


ITEM = raw("item", {"sku": "SKU-1", "name": "Tea", "base_unit": "each", "unit_conversions": {"case": 6},
                    "aliases": ["690"]}, "i-1")
STORE = raw("location", {"location": "store-12", "name": "S12", "kind": "store"}, "l-1")


def sale(id, sku="690", **extra):
    data = {"sku": sku, "location": "store-12", "quantity": 1, "unit": "case", **extra}
    return raw("sale", data, id, "pos")


def test_master_data_earlier_in_the_batch_applies_to_later_events():
    result = process_batch([sale("s-0"), ITEM, STORE, sale("s-1")], MasterSnapshot(), NOW)
    assert result.response() == {"accepted": 4, "duplicates": 0, "rejected": [],
                                 "pending": [{"index": 0, "id": "s-0", "reason": "unknown_sku"}]}
    assert result.outcomes[3].payload["quantity"] == 6.0
    assert result.snapshot.resolve_sku("690") == "SKU-1"


def test_one_bad_event_and_non_objects_do_not_sink_the_batch(snapshot):
    batch = [sale("s-1", sku="SKU-1"), "not an event", None, 42, sale("s-2", sku="SKU-1", quantity=-1)]
    body = process_batch(batch, snapshot, NOW).response()
    assert body["accepted"] == 1 and body["duplicates"] == 0 and body["pending"] == []
    assert body["rejected"] == [
        {"index": 1, "id": None, "errors": ["event: must be a JSON object"]},
        {"index": 2, "id": None, "errors": ["event: must be a JSON object"]},
        {"index": 3, "id": None, "errors": ["event: must be a JSON object"]},
        {"index": 4, "id": "s-2", "errors": ["data.quantity: must be > 0"]}]


def test_duplicate_ids_inside_a_batch_and_from_earlier_batches_count_as_duplicates(snapshot):
    batch = [sale("s-1", sku="SKU-1"), sale("s-1", sku="SKU-1"), sale("old", sku="SKU-1"),
             sale("s-1", sku="SKU-1")]
    result = process_batch(batch, snapshot, NOW, seen=lambda source, event_id: event_id == "old")
    assert result.response()["accepted"] == 1 and result.response()["duplicates"] == 3
    assert [getattr(o, "first_index", "-") for o in result.outcomes] == ["-", 0, None, 0]


def test_rejected_event_does_not_claim_its_id(snapshot):
    broken = sale("s-1", sku="SKU-1")
    broken["data"]["quantity"] = 0
    body = process_batch([broken, sale("s-1", sku="SKU-1")], snapshot, NOW).response()
    assert body["accepted"] == 1 and body["duplicates"] == 0 and len(body["rejected"]) == 1


def test_duplicate_ids_helper_flags_repeats_per_source():
    events = [valid("sale", {"sku": "A", "location": "L", "quantity": 1}, id=i, source=s)
              for i, s in [("1", "pos"), ("1", "wms"), ("1", "pos"), ("2", "pos")]]
    assert duplicate_ids([*events, None]) == {2: 0}


def test_pending_events_are_released_in_event_time_order_once_master_arrives(snapshot):
    late = valid("sale", {"sku": "NEW", "location": "store-12", "quantity": 1}, id="b",
                 time="2026-11-21T09:00:00Z")
    early = valid("sale", {"sku": "NEW", "location": "store-12", "quantity": 2}, id="a",
                  time="2026-11-21T08:00:00Z")
    item = valid("item", {"sku": "NEW", "name": "New", "base_unit": "each"}, time="2026-11-21T07:00:00Z")
    outcomes = release_pending([late, item, early], snapshot)
    assert all(isinstance(o, Normalized) for o in outcomes)
    assert [o.event.id for o in outcomes] == ["e-1", "a", "b"]
