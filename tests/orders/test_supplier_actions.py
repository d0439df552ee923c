"""Supplier acknowledgement (promised date, accepted quantities) and ship notices, with validation."""

from __future__ import annotations

from datetime import date

import pytest

from services.orders.domain import IllegalTransition, SupplierItem, ValidationError, acknowledge, ship

from .builders import later, proposed, sent

LINES = (("SKU-1", "store-1", 36), ("SKU-2", "store-2", 24))


def test_acknowledge_records_promise_and_accepts_everything_by_default():
    po, entry = acknowledge(sent(*LINES), "2026-11-08", None, "SUP-1", later(hours=2))
    assert po.status == "acknowledged" and po.promised_date == date(2026, 11, 8)
    assert po.acknowledged_at == later(hours=2) and [ln.accepted_quantity for ln in po.lines] == [36, 24]
    assert entry.actor == "SUP-1" and entry.reason == "promised 2026-11-08"


def test_acknowledge_can_accept_less_on_a_line():
    lines = [{"sku": "SKU-2", "location": "store-2", "quantity": 12}]
    po, entry = acknowledge(sent(*LINES), date(2026, 11, 8), lines, "SUP-1", later(hours=2))
    assert [ln.target_quantity for ln in po.lines] == [36, 12]
    assert "accepted short: SKU-2@store-2 12/24" in entry.reason


def test_acknowledge_collects_every_validation_error():
    lines = [{"sku": "SKU-9", "location": "store-1", "quantity": 1},
             {"sku": "SKU-1", "location": "store-1", "quantity": 48},
             {"sku": "SKU-2", "location": "store-2", "quantity": -1}]
    with pytest.raises(ValidationError) as err:
        acknowledge(sent(*LINES), "not-a-date", lines, "SUP-1", later(hours=1))
    assert len(err.value.errors) == 4
    assert any(e.startswith("promised_date") for e in err.value.errors)
    assert any("SKU-9" in e for e in err.value.errors)
    assert any("more than ordered 36" in e for e in err.value.errors)


def test_promised_date_before_creation_is_refused():
    with pytest.raises(ValidationError, match="before the PO was created"):
        acknowledge(sent(), "2026-10-01", None, "SUP-1", later(hours=1))


def test_acknowledge_before_sending_is_illegal():
    with pytest.raises(IllegalTransition):
        acknowledge(proposed(), "2026-11-08", None, "SUP-1", later(hours=1))


def test_ship_records_eta_tracking_and_moves_to_shipped():
    po, _ = acknowledge(sent(*LINES), "2026-11-08", None, "SUP-1", later(hours=2))
    po, entry = ship(po, "2026-11-07", [{"sku": "SKU-1", "location": "store-1", "quantity": 36}],
                     "SUP-1", later(days=1), tracking="TRK-1")
    assert po.status == "shipped" and po.eta == date(2026, 11, 7)
    assert po.shipments[0].lines == (("SKU-1", "store-1", 36.0),) and po.shipments[0].tracking == "TRK-1"
    assert entry.reason == "eta 2026-11-07, tracking TRK-1"


def test_ship_without_acknowledgement_is_accepted():
    po, _ = ship(sent(), "2026-11-07", [{"sku": "SKU-1", "location": "store-1", "quantity": 36}],
                 "SUP-1", later(days=1))
    assert po.status == "shipped"


def test_ship_validates_lines_and_quantities():
    with pytest.raises(ValidationError, match="at least one line"):
        ship(sent(), "2026-11-07", [], "SUP-1", later(days=1))
    with pytest.raises(ValidationError, match="only 36 open"):
        ship(sent(), "2026-11-07", [{"sku": "SKU-1", "location": "store-1", "quantity": 48}], "SUP-1",
             later(days=1))
    with pytest.raises(ValidationError, match="must be > 0"):
        ship(sent(), "2026-11-07", [{"sku": "SKU-1", "location": "store-1", "quantity": 0}], "SUP-1",
             later(days=1))


def test_ship_beyond_accepted_quantity_is_refused():
    po, _ = acknowledge(sent(), "2026-11-08", [{"sku": "SKU-1", "location": "store-1", "quantity": 24}],
                        "SUP-1", later(hours=1))
    with pytest.raises(ValidationError, match="only 24 open"):
        ship(po, "2026-11-07", [{"sku": "SKU-1", "location": "store-1", "quantity": 36}], "SUP-1",
             later(days=1))


def test_split_shipments_add_up_and_a_repeated_notice_replaces_itself():
    line = {"sku": "SKU-1", "location": "store-1", "quantity": 24}
    po, _ = ship(sent(), "2026-11-06", [line], "SUP-1", later(days=1), tracking="A")
    po, _ = ship(po, "2026-11-06", [line], "SUP-1", later(days=1), tracking="A")  # resent 856
    assert len(po.shipments) == 1
    with pytest.raises(ValidationError, match="only 12 open"):
        ship(po, "2026-11-08", [line], "SUP-1", later(days=2), tracking="B")
    po, _ = ship(po, "2026-11-08", [{**line, "quantity": 12}], "SUP-1", later(days=2), tracking="B")
    assert len(po.shipments) == 2 and po.eta == date(2026, 11, 8)


def test_eta_must_be_a_date_not_before_the_po():
    line = [{"sku": "SKU-1", "location": "store-1", "quantity": 12}]
    with pytest.raises(ValidationError, match="eta: must be an ISO date"):
        ship(sent(), 20261107, line, "SUP-1", later(days=1))
    with pytest.raises(ValidationError, match="before the PO was created"):
        ship(sent(), "2026-01-01", line, "SUP-1", later(days=1))


def test_supplier_item_from_master_data_ignores_unknown_fields():
    si = SupplierItem.from_mapping({"supplier_id": "SUP-1", "sku": "SKU-1", "lead_time_days": 7, "moq": 12,
                                    "pack_size": 12, "primary": True})
    assert (si.moq, si.pack_size, si.unit_cost) == (12, 12, None)
