"""normalize: aliases to canonical SKUs, units to base units, topics and keys, pending master data."""
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.domain.master import MasterSnapshot, apply_master
from services.ingest.domain.normalize import normalize
from services.ingest.domain.outcomes import Normalized, Pending, Rejected
from tests.ingest.conftest import make_snapshot, valid


def sale(sku="SKU-1", quantity=2, unit=None, location="store-12", **extra):
    data = {"sku": sku, "location": location, "quantity": quantity, **extra}
    if unit is not None:
        data["unit"] = unit
    return valid("sale", data, source="pos/store-12")


def test_barcode_sale_in_cases_becomes_base_units_of_canonical_sku(snapshot):
    outcome = normalize(sale(sku="6901234567892", quantity=2, unit="case", unit_price=24.0), snapshot)
    assert isinstance(outcome, Normalized)
    assert outcome.topic == "replenish.ingest.sales.v1" and outcome.key == "store-12:SKU-1"
    assert outcome.payload == {"event_id": "e-1", "source": "pos/store-12", "type": "sale", "sku": "SKU-1",
                               "location": "store-12", "time": "2026-11-21T10:00:00+00:00",
                               "quantity": 24.0, "unit_price": 2.0}


def test_chinese_unit_converts_and_unknown_unit_names_the_known_ones(snapshot):
    assert normalize(sale(unit="箱", quantity=1), snapshot).payload["quantity"] == 24.0
    outcome = normalize(sale(unit="box"), snapshot)
    expected = "data.unit: unknown unit 'box' for SKU-1 (known: each, case, 箱)"
    assert outcome == Rejected([expected], outcome.event)


def test_converted_quantity_beyond_1e9_is_rejected(snapshot):
    outcome = normalize(sale(quantity=1e8, unit="case"), snapshot)
    assert isinstance(outcome, Rejected)
    assert outcome.errors == ["data.quantity: 1e+08 case = 1.2e+09 each, more than 1e9"]


def test_unknown_sku_and_location_wait_as_pending(snapshot):
    assert normalize(sale(sku="NOPE"), snapshot).reason == "unknown_sku"
    assert normalize(sale(location="store-99"), snapshot).reason == "unknown_location"


def test_stock_adjustment_keeps_sign_and_reason(snapshot):
    event = valid("stock_adjustment", {"sku": "old-001", "location": "STORE-12", "quantity": -1,
                                       "unit": "Case", "reason": "damage", "po_id": "PO-7"})
    outcome = normalize(event, snapshot)
    assert outcome.topic == "replenish.ingest.stock.v1" and outcome.key == "store-12:SKU-1"
    assert outcome.payload["quantity"] == -12.0
    assert (outcome.payload["reason"], outcome.payload["po_id"]) == ("damage", "PO-7")


def test_stock_count_converts_on_hand(snapshot):
    event = valid("stock_count", {"sku": "SKU-1", "location": "store-12", "on_hand": 3, "unit": "case"})
    assert normalize(event, snapshot).payload["on_hand"] == 36.0


def test_master_keys_follow_the_contract(snapshot):
    supplier_item = valid("supplier_item", {"supplier_id": "acme", "sku": "6901234567892",
                                            "lead_time_days": 5})
    outcome = normalize(supplier_item, snapshot)
    assert outcome.topic == "replenish.ingest.master.v1" and outcome.key == "supplier_item:ACME:SKU-1"
    assert outcome.payload["type"] == "supplier_item" and outcome.payload["data"]["sku"] == "SKU-1"
    lane = valid("lane", {"from_location": "dc-1", "to_location": "store-12", "lead_time_days": 1})
    assert normalize(lane, snapshot).key == "lane:dc-1:store-12"
    policy = valid("policy", {"category": "tea", "service_level": 0.95})
    assert normalize(policy, snapshot).key == "policy:*:category=tea"


def test_supplier_item_for_unknown_supplier_waits(snapshot):
    event = valid("supplier_item", {"supplier_id": "NEW", "sku": "SKU-1", "lead_time_days": 5})
    assert normalize(event, snapshot) == Pending(event, "unknown_supplier", "no supplier 'NEW'")


def test_promotion_datetime_becomes_the_location_local_day(snapshot):
    # 2026-11-10T20:00Z is already 11 November in Shanghai (UTC+8).
    event = valid("promotion", {"sku": "OLD-001", "location": "store-12", "start": "2026-11-10T20:00:00Z",
                                "end": "2026-11-12", "expected_uplift": 0.3})
    outcome = normalize(event, snapshot)
    assert outcome.topic == "replenish.ingest.promotions.v1" and outcome.key == "store-12:SKU-1"
    assert outcome.payload == {"sku": "SKU-1", "location": "store-12", "start": "2026-11-11",
                               "end": "2026-11-12", "expected_uplift": 0.3}
    everywhere = normalize(valid("promotion", {"sku": "SKU-1", "start": "2026-11-10", "end": "2026-11-10"}),
                           snapshot)
    assert everywhere.key == "*:SKU-1"


def test_item_alias_already_owned_by_another_item_is_rejected(snapshot):
    event = valid("item", {"sku": "SKU-2", "name": "Coffee", "base_unit": "each", "aliases": [" old-001 "]})
    assert normalize(event, snapshot).errors == ["data.aliases[0]: 'old-001' already names SKU-1"]
    as_alias = valid("item", {"sku": "OLD-001", "name": "Coffee", "base_unit": "each"})
    assert normalize(as_alias, snapshot).errors == ["data.sku: 'OLD-001' is already an alias of SKU-1"]


def test_item_update_drops_aliases_it_no_longer_lists(snapshot):
    update = valid("item", {"sku": "sku-1", "name": "Tea", "base_unit": "each", "aliases": ["NEW-9"]})
    outcome = normalize(update, snapshot)
    assert outcome.key == "item:SKU-1"  # the first spelling of the SKU is kept
    after = apply_master(snapshot, outcome.event)
    assert after.resolve_sku("new-9") == "SKU-1" and after.resolve_sku("OLD-001") is None
    assert snapshot.resolve_sku("OLD-001") == "SKU-1"  # apply_master does not touch its argument


def _spellings(code):
    """Variants the alias rule must treat as one code: case, surrounding and inner spaces, full width."""
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in code)
    return st.sampled_from([code, code.lower(), f"  {code}\t", full_width, code[:3] + " " + code[3:]])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), code=st.sampled_from(["6901234567892", "OLD-001", "SKU-1"]))
def test_alias_resolution_is_invariant_to_case_space_and_width(data, code):
    spelled = data.draw(_spellings(code))
    outcome = normalize(sale(sku=spelled), make_snapshot())
    assert isinstance(outcome, Normalized) and outcome.payload["sku"] == "SKU-1"


@settings(max_examples=80, deadline=None)
@given(factor=st.floats(min_value=1e-3, max_value=1e4), quantity=st.floats(min_value=1e-3, max_value=1e4))
def test_units_round_trip_through_base_units(factor, quantity):
    master = apply_master(MasterSnapshot(), valid("item", {"sku": "K", "name": "k", "base_unit": "g",
                                                           "unit_conversions": {"kg": factor}}))
    master = apply_master(master, valid("location", {"location": "L", "name": "l", "kind": "store"}))
    base = normalize(sale(sku="K", location="L", quantity=quantity, unit="kg"), master).payload["quantity"]
    assert abs(base / factor - quantity) <= 1e-9 * quantity
    assert normalize(sale(sku="K", location="L", quantity=base, unit="g"), master).payload["quantity"] == base


def test_dates_are_iso_strings_in_the_payload(snapshot):
    event = valid("promotion", {"sku": "SKU-1", "start": date(2026, 1, 1).isoformat(), "end": "2026-01-02"})
    assert normalize(event, snapshot).payload["start"] == "2026-01-01"
