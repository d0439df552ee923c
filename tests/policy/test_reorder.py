"""Reorder decisions: breach, quantity rounding, no double ordering, transfers, ids."""

from datetime import date

from services.policy.domain.model import DemandView, PolicyParams, Stock
from services.policy.domain.position import compute_position
from services.policy.domain.reorder import Donor, decide_reorder, why_not

DEMAND = DemandView(daily_mean=10.0, daily_std=0.0)
DAY = date(2026, 3, 2)


def decide(stock, params=None, donors=()):
    from tests.policy.conftest import AS_OF
    params = params or PolicyParams(lead_time_days=5, review_days=7, unit_cost=2.0)
    pos = compute_position("SKU-1", "store-1", stock, DEMAND, params, AS_OF)
    return pos, decide_reorder(pos, params, DAY, "sup-A", donors)


def test_breach_emits_reorder_up_to_order_up_to():
    # ROP 50, S 120, IP 40 → 80
    _, r = decide(Stock(on_hand=40))
    assert r is not None
    assert (r.quantity, r.kind, r.supplier_id) == (80.0, "purchase", "sup-A")
    assert r.reorder_id == "store-1:SKU-1:2026-03-02"
    assert "IP 40 ≤ ROP 50" in r.explanation["reason"]


def test_need_by_is_the_earlier_of_arrival_and_projected_stockout():
    _, r = decide(Stock(on_hand=40))
    # 40 units last until offset 3 (4th day), before the 5-day lead time
    assert r.need_by == date(2026, 3, 5)
    _, r = decide(Stock(on_hand=50, on_order=0), PolicyParams(lead_time_days=3, min_level=60))
    assert r.need_by == date(2026, 3, 5)


def test_moq_and_pack_round_the_quantity_up():
    params = PolicyParams(lead_time_days=5, review_days=7, moq=100, pack_size=24)
    _, r = decide(Stock(on_hand=40), params)
    assert r.quantity == 120.0  # max(80, 100) = 100 → 5 packs of 24


def test_max_qty_caps_to_whole_packs():
    params = PolicyParams(lead_time_days=5, review_days=7, pack_size=12, max_qty=50)
    _, r = decide(Stock(on_hand=40), params)
    assert r.quantity == 48.0


def test_no_reorder_when_open_po_already_covers_it():
    pos, r = decide(Stock(on_hand=40, on_order=80))
    assert r is None
    assert "on_order 80 already counted" in why_not(pos, PolicyParams(lead_time_days=5))


def test_do_not_stock_never_orders():
    _, r = decide(Stock(on_hand=0), PolicyParams(lead_time_days=5, do_not_stock=True))
    assert r is None


def test_require_approval_is_carried_on_the_reorder():
    _, r = decide(Stock(on_hand=10), PolicyParams(lead_time_days=5, require_approval=True))
    assert r.requires_approval is True


def test_forced_reorder_orders_above_reorder_point():
    params = PolicyParams(lead_time_days=5, force_reorder=True, applied_rules=("low-A@v1",))
    _, r = decide(Stock(on_hand=100), params)
    assert r is not None and r.quantity == 20.0 and "low-A@v1" in r.explanation["reason"]


def test_transfer_preferred_when_faster_and_cheaper():
    donors = (Donor("dc-1", excess=500, lane_lead_time_days=1, lane_unit_cost=1.5),
              Donor("dc-2", excess=10, lane_lead_time_days=1, lane_unit_cost=0.5))
    _, r = decide(Stock(on_hand=40), donors=donors)
    assert (r.kind, r.from_location, r.supplier_id) == ("transfer", "dc-1", None)


def test_slower_or_dearer_transfer_loses_to_purchase():
    donors = (Donor("dc-1", 500, lane_lead_time_days=6), Donor("dc-2", 500, 1, lane_unit_cost=3.0))
    _, r = decide(Stock(on_hand=40), donors=donors)
    assert r.kind == "purchase"


def test_periodic_review_orders_whenever_below_order_up_to():
    params = PolicyParams(lead_time_days=5, review_days=7, review_mode="periodic")
    # S = 10·12 = 120, IP 110 → order 10
    _, r = decide(Stock(on_hand=110), params)
    assert r.quantity == 10.0
