"""On-time-in-full and lead time per supplier and supplier-item, against hand-computed figures."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from services.orders.domain import Performance, acknowledge, apply_receipt, by_supplier, by_supplier_item

from .builders import later, proposed, sent


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def history():
    """All sent 2026-11-02 09:00, expected 11-09 (7-day lead time); judged on 11-20.

    A: SKU-1 36 in on 11-08 09:00, SKU-2 12 in on 11-09 09:00 -> on time, in full; lead 7.0 d
    B: SKU-1 36 in on 11-11 09:00                              -> late, in full;   lead 9.0 d
    C: promised 11-12, accepts 24 of 36, 24 in 11-10 21:00     -> on time, short;  lead 8.5 d
    D: nothing received, past due                              -> late, short
    E: sent 11-18, due 11-25: not judged yet.  F: never sent: not judged.
    """
    a, _ = apply_receipt(sent(("SKU-1", "store-1", 36), ("SKU-2", "store-1", 12)), "SKU-1", "store-1", 36,
                         at("2026-11-08T09:00:00"))
    a, _ = apply_receipt(a, "SKU-2", "store-1", 12, at("2026-11-09T09:00:00"))
    b, _ = apply_receipt(sent(), "SKU-1", "store-1", 36, at("2026-11-11T09:00:00"))
    c, _ = acknowledge(sent(), "2026-11-12", [{"sku": "SKU-1", "location": "store-1", "quantity": 24}],
                       "SUP-1", later(hours=3))
    c, _ = apply_receipt(c, "SKU-1", "store-1", 24, at("2026-11-10T21:00:00"))
    d = sent()
    e = sent(at=at("2026-11-18T09:00:00"))
    f = proposed()
    assert (a.status, b.status, c.status, d.status) == ("received", "received", "received", "sent")
    return [a, b, c, d, e, f]


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_supplier_otif_counts_on_time_and_in_full_separately(history):
    perf = by_supplier(history, NOW)["SUP-1"]
    assert (perf.orders, perf.on_time, perf.in_full, perf.otif) == (4, 2, 2, 1)
    assert perf.otif_rate == 0.25 and perf.on_time_rate == 0.5 and perf.in_full_rate == 0.5


def test_supplier_lead_time_mean_and_sample_std(history):
    perf = by_supplier(history, NOW)["SUP-1"]
    # lead times 7.0, 9.0, 8.5 days: mean 24.5/3; squared deviations sum 2.1667, /2, sqrt
    assert perf.lead_time_samples == 3
    assert perf.lead_time_mean_days == pytest.approx(8.166667, abs=1e-6)
    assert perf.lead_time_std_days == pytest.approx(math.sqrt(2.166667 / 2), abs=1e-6)  # 1.040833


def test_supplier_item_figures_per_sku(history):
    perf = by_supplier_item(history, NOW)
    sku1, sku2 = perf[("SUP-1", "SKU-1")], perf[("SUP-1", "SKU-2")]
    assert (sku1.orders, sku1.on_time, sku1.in_full, sku1.otif) == (4, 2, 2, 1)
    # SKU-1 lines complete at 6.0, 9.0, 8.5 days: mean 7.8333, squared deviations 5.1667 -> std 1.607275
    assert sku1.lead_time_mean_days == pytest.approx(23.5 / 3)
    assert sku1.lead_time_std_days == pytest.approx(1.607275, abs=1e-6)
    assert (sku2.orders, sku2.otif_rate, sku2.lead_time_mean_days) == (1, 1.0, 7.0)
    assert sku2.lead_time_std_days is None  # one sample has no spread


def test_nothing_judged_before_anything_is_due():
    assert by_supplier([sent(), proposed()], later(days=1)) == {}


def test_rates_are_none_without_orders_and_to_dict_is_flat(history):
    empty = Performance(orders=0, on_time=0, in_full=0, otif=0, lead_time_mean_days=None,
                        lead_time_std_days=None, lead_time_samples=0)
    assert empty.otif_rate is None and empty.on_time_rate is None and empty.in_full_rate is None
    perf = by_supplier(history, NOW)["SUP-1"].to_dict()
    assert perf["otif_rate"] == 0.25 and perf["lead_time_samples"] == 3
