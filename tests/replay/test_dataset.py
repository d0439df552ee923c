from datetime import date, timedelta

import numpy as np
import pytest

from replenish.replay.dataset import load, opening_stock, select
from tests.replay.conftest import START, synthetic, write_long


def test_long_csv_sums_rows_of_one_series_day_and_reads_optional_columns(tmp_path):
    path = write_long(tmp_path / "d.csv", [
        ("2024-01-01", "A", "s1", 2, 1, 3.0, "fast"),
        ("2024-01-01", "A", "s1", 3, 0, 5.0, "fast"),
        ("2024-01-03", "A", "s1", 1, 0, "", "slow"),
        ("2024-01-02", "B", "s2", 4, 0, 2.0, ""),
    ], header="Date,SKU,Location,Quantity,Promo,Price,Class")
    ds = load(path)
    assert ds.days == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]
    a, b = ds.series  # sorted by (location, sku)
    assert (a.sku, a.location, b.sku, b.location) == ("A", "s1", "B", "s2")
    assert a.demand.tolist() == [5.0, 0.0, 1.0]
    assert a.promo.tolist() == [1.0, 0.0, 0.0]
    assert a.price == pytest.approx(4.0)
    assert a.label == "fast"
    assert b.demand.tolist() == [0.0, 4.0, 0.0] and b.label is None


def test_calendar_gaps_are_days_of_zero_demand(tmp_path):
    path = write_long(tmp_path / "d.csv", [("2024-01-01", "A", "s", 2), ("2024-01-05", "A", "s", 3)])
    ds = load(path)
    assert len(ds.days) == 5
    assert ds.series[0].demand.tolist() == [2.0, 0.0, 0.0, 0.0, 3.0]
    assert ds.series[0].promo is None and ds.series[0].price is None


def test_wide_csv_names_skus_after_their_qty_columns_at_the_given_location(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("DATE,QTY_B1_1,QTY_B1_2,PROMO_B1_1\n2014-01-02,7,,1\n2014-01-04,5,2,0\n")
    ds = load(path, location="shop")
    assert [s.key for s in ds.series] == [("B1_1", "shop"), ("B1_2", "shop")]
    assert ds.series[0].demand.tolist() == [7.0, 0.0, 5.0]
    assert ds.series[0].promo.tolist() == [1.0, 0.0, 0.0]
    assert ds.series[1].demand.tolist() == [0.0, 0.0, 2.0] and ds.series[1].promo is None


@pytest.mark.parametrize(("body", "message"), [
    ("date,sku,quantity\n2024-01-01,A,1\n", "missing column(s) location"),
    ("date,sku,location,quantity\n2024-01-01,A,s,1\n2024-13-01,A,s,1\n", "line 3: bad date"),
    ("date,sku,location,quantity\n2024-01-01,A,s,-2\n", "line 2: quantity '-2' is negative"),
    ("date,sku,location,quantity\n2024-01-01,A,s,1\n2024-01-02,A,s,lots\n", "line 3: quantity 'lots' is not a number"),
    ("date,sku,location,quantity\n", "no data rows"),
    ("", "empty file"),
    ("DATE,QTY_A\n2024-01-01,1\n2024-01-01,2\n", "line 3: date 2024-01-01 repeats"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(path)


def test_selection_is_reproducible_from_the_seed_and_keeps_canonical_order():
    ds = synthetic(n_series=12)
    one, again, other = (select(ds, days=30, history=60, series=5, seed=s) for s in (7, 7, 8))
    assert one.keys == again.keys
    assert one.keys != other.keys
    assert one.keys == sorted(one.keys, key=lambda k: (k[1], k[0]))
    assert len(one.keys) == 5


def test_windows_are_the_last_days_and_the_history_before_them():
    ds = synthetic(n_days=100)
    sel = select(ds, days=30, history=60)
    assert sel.test_days == ds.days[70:] and sel.history_days == ds.days[10:70] and sel.cut == 70
    key = sel.keys[0]
    assert sel.test[key].tolist() == ds.series[0].demand[70:].tolist()
    short = select(ds, days=30, history=365)  # the CSV is shorter: all it has
    assert short.history_days == ds.days[:70]


def test_series_without_history_demand_are_excluded_and_do_not_count_toward_n():
    ds = synthetic(n_series=6, zero={1, 4})
    sel = select(ds, days=20, history=60, series=4)
    assert sel.excluded == [("S1", "L1"), ("S4", "L1")]
    assert sorted(sel.keys) == [("S0", "L1"), ("S2", "L1"), ("S3", "L1"), ("S5", "L1")]


def test_no_history_day_is_an_error():
    with pytest.raises(ValueError, match="no history day"):
        select(synthetic(n_days=30), days=30)


def test_opening_stock_is_fourteen_days_of_the_last_28_days_mean_rounded_up():
    ds = synthetic(n_days=100)
    sel = select(ds, days=30, history=60)
    for s in sel.series:
        last = s.demand[42:70]
        assert sel.opening[s.key] == -(-14 * last.sum() // 28)  # ⌈14 × mean⌉
    # the 9 is 29 days old; 14 × 2 / 28 = 1 exactly, which the ceiling must not push to 2
    assert opening_stock(np.array([9.0] + [0.0] * 27 + [2.0]), 29) == 1.0
    assert opening_stock(np.array([1.0] * 10), 10) == 14.0  # fewer than 28 days before the window: their mean


def test_history_days_span_the_calendar():
    ds = synthetic(n_days=50)
    assert ds.days[-1] == START + timedelta(days=49)
