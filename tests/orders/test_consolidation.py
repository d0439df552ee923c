"""Reorders become PO lines per supplier: idempotent by reorder_id, pack and MOQ respected, priced."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.orders.domain import (
    Reorder,
    ValidationError,
    add_reorder,
    order_quantity,
    po_id_for,
    window_closed,
)
from services.orders.domain.model import PROPOSED

from .builders import T0, item, later, reorder, with_status


@pytest.mark.parametrize(("requested", "moq", "pack", "expected"), [
    (5, 12, 12, 12),      # below MOQ: the MOQ
    (13, 12, 12, 24),     # just over one pack: two packs
    (24, 12, 12, 24),     # exact multiple stays
    (30, 50, 12, 60),     # MOQ 50 is not a pack multiple: 5 packs
    (7, None, None, 7),   # no constraints
    (10.5, None, None, 11),  # pack defaults to 1 base unit
    (2, 0, 6, 6),
    (11.9999999999, None, 12, 12),  # float noise does not cost a whole pack
])
def test_order_quantity_rounds_up_to_packs_and_moq(requested, moq, pack, expected):
    assert order_quantity(requested, moq, pack) == expected


@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf")])
def test_order_quantity_refuses_non_positive_or_non_finite(bad):
    with pytest.raises(ValidationError):
        order_quantity(bad, 1, 1)


def test_first_reorder_opens_a_priced_proposed_po():
    po, added = add_reorder(None, reorder(quantity=30), item(cost=2.5), T0)
    assert added and po.status == PROPOSED and po.supplier_id == "SUP-1"
    (line,) = po.lines
    assert (line.sku, line.location, line.quantity, line.unit_cost) == ("SKU-1", "store-1", 36, 2.5)
    assert line.requested_quantity == 30 and line.reorder_ids == ("store-1:SKU-1:2026-11-02",)
    assert po.total == 90.0  # 36 x 2.5
    assert po.reason.startswith("reorder store-1:SKU-1:2026-11-02")
    assert po.expected_date == date(2026, 11, 9) and po.created_at == T0


def test_po_id_is_deterministic_from_supplier_and_first_reorder():
    a, _ = add_reorder(None, reorder(rid="r-1"), item(), T0)
    b, _ = add_reorder(None, reorder(rid="r-1"), item(), later(days=3))
    c, _ = add_reorder(None, reorder(rid="r-2"), item(), T0)
    assert a.po_id == b.po_id == po_id_for("SUP-1", "r-1")
    assert a.po_id.startswith("PO-SUP-1-") and len(a.po_id) == len("PO-SUP-1-") + 10
    assert c.po_id != a.po_id


def test_repeated_reorder_never_adds_a_second_line():
    po, _ = add_reorder(None, reorder(rid="r-1"), item(), T0)
    again, added = add_reorder(po, reorder(rid="r-1"), item(), later(hours=0.001))
    assert not added and again == po and len(again.lines) == 1 and again.lines[0].quantity == 36


def test_redelivered_reorder_after_window_closed_is_still_recognised():
    po, _ = add_reorder(None, reorder(rid="r-1"), item(), T0)
    closed = replace(po, status="approved")
    same, added = add_reorder(closed, reorder(rid="r-1"), item(), later(days=1))
    assert not added and same is closed


def test_second_sku_for_the_same_supplier_adds_a_line():
    po, _ = add_reorder(None, reorder(rid="r-1"), item(), T0)
    po, added = add_reorder(po, reorder(rid="r-2", sku="SKU-2", quantity=5, need_by=date(2026, 11, 7)),
                            item(sku="SKU-2", moq=None, pack=6, cost=10.0), T0)
    assert added and [ln.sku for ln in po.lines] == ["SKU-1", "SKU-2"]
    assert po.lines[1].quantity == 6 and po.lines[1].unit_cost == 10.0
    assert po.total == 36 * 2.5 + 6 * 10.0
    assert po.expected_date == date(2026, 11, 9)  # needed by 7 Nov, but 2 Nov + 7 days is the earliest arrival
    assert "(+1 more reorders)" in po.reason


def test_a_proposed_po_is_expected_by_its_earliest_need_if_the_lead_time_allows():
    po, _ = add_reorder(None, reorder(rid="r-1", need_by=date(2026, 11, 20)), item(lead=7), T0)
    assert po.expected_date == date(2026, 11, 20)
    late, _ = add_reorder(None, reorder(rid="r-1", need_by=date(2026, 11, 3)), item(lead=7), T0)
    assert late.expected_date == date(2026, 11, 9)  # a supplier 7 days away cannot deliver by 3 Nov


def test_two_reorders_for_one_sku_merge_and_round_packs_on_the_sum():
    po, _ = add_reorder(None, reorder(rid="r-1", quantity=13), item(moq=None), T0)
    po, _ = add_reorder(po, reorder(rid="r-2", quantity=10), item(moq=None), T0)
    (line,) = po.lines
    assert line.requested_quantity == 23 and line.quantity == 24  # not 24 + 12
    assert line.reorder_ids == ("r-1", "r-2") and po.reorder_ids == {"r-1", "r-2"}


def test_reorder_for_another_supplier_is_refused():
    po, _ = add_reorder(None, reorder(rid="r-1"), item(), T0)
    with pytest.raises(ValidationError, match="SUP-2"):
        add_reorder(po, reorder(rid="r-2", supplier="SUP-2"), item(supplier="SUP-2"), T0)


def test_po_past_proposed_takes_no_new_lines():
    with pytest.raises(ValidationError, match="no longer takes lines"):
        add_reorder(with_status("approved"), reorder(rid="new"), item(), T0)


def test_unit_cost_falls_back_to_the_reorder_without_supplier_price():
    po, _ = add_reorder(None, reorder(unit_cost=4.0), item(cost=None), T0)
    assert po.lines[0].unit_cost == 4.0


def test_requires_approval_is_sticky_across_lines():
    po, _ = add_reorder(None, reorder(rid="r-1"), item(), T0)
    po, _ = add_reorder(po, reorder(rid="r-2", sku="SKU-2", requires_approval=True), item(sku="SKU-2"), T0)
    po, _ = add_reorder(po, reorder(rid="r-3", sku="SKU-3"), item(sku="SKU-3"), T0)
    assert po.requires_approval


def test_window_closes_after_window_seconds():
    po, _ = add_reorder(None, reorder(), item(), T0)
    assert not window_closed(po, 5, T0 + timedelta(seconds=4.999))
    assert window_closed(po, 5, T0 + timedelta(seconds=5))


def test_window_is_closed_once_the_po_left_proposed():
    assert window_closed(with_status("pending_approval"), 3600, T0)


def test_transfer_reorder_is_filled_by_the_source_location():
    r = Reorder(reorder_id="t-1", kind="transfer", sku="SKU-1", location="store-1", from_location="dc-1",
                quantity=5, need_by=date(2026, 11, 4), decided_at=T0)
    po, _ = add_reorder(None, r, None, T0)
    assert po.supplier_id == "transfer:dc-1" and po.lines[0].quantity == 5


def test_purchase_without_supplier_is_a_validation_error():
    with pytest.raises(ValidationError, match="without supplier_id"):
        add_reorder(None, reorder(supplier=""), item(), T0)


def test_reorder_from_event_payload_parses_dates():
    r = Reorder.from_mapping({"reorder_id": "x", "kind": "purchase", "sku": "S", "location": "L",
                              "supplier_id": "SUP-1", "quantity": 3, "need_by": "2026-11-09",
                              "decided_at": "2026-11-02T09:00:00+00:00", "requires_approval": False,
                              "explanation": {"rop": 1}, "unknown": 1})
    assert r.need_by == date(2026, 11, 9) and r.decided_at == T0


def test_po_id_keeps_only_url_safe_characters():
    assert po_id_for("transfer:dc 1/a", "r-1").startswith("PO-transfer-dc-1-a-")
