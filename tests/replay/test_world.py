import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replenish.replay.world import Shelf, lead_draw

D0 = date(2024, 3, 1)


def test_lead_draw_is_fixed_by_seed_series_and_day():
    draws = [lead_draw(3, "A", "s", D0 + timedelta(days=i), 7, 2) for i in range(50)]
    assert draws == [lead_draw(3, "A", "s", D0 + timedelta(days=i), 7, 2) for i in range(50)]
    assert len(set(draws)) > 1  # σ > 0 varies it from day to day
    assert draws != [lead_draw(4, "A", "s", D0 + timedelta(days=i), 7, 2) for i in range(50)]
    assert draws != [lead_draw(3, "B", "s", D0 + timedelta(days=i), 7, 2) for i in range(50)]


def test_lead_draw_is_at_least_one_day_and_centred_on_the_lead_time():
    assert min(lead_draw(0, "A", "s", D0 + timedelta(days=i), 1, 5) for i in range(300)) == 1
    assert lead_draw(0, "A", "s", D0, 7, 0) == 7 and lead_draw(0, "A", "s", D0, 0, 0) == 1
    many = [lead_draw(0, f"S{i}", "s", D0, 7, 2) for i in range(2000)]
    assert sum(many) / len(many) == pytest.approx(7, abs=0.2)


def test_lead_draw_does_not_depend_on_the_process_hash_seed():
    code = ("from datetime import date; from replenish.replay.world import lead_draw; "
            "print([lead_draw(1, 'A', 's', date(2024, 3, d), 7, 3) for d in range(1, 20)])")
    outs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout for seed in ("1", "2")}
    assert len(outs) == 1


def test_shelf_serves_what_it_holds_and_loses_the_rest():
    key = ("A", "s")
    shelf = Shelf({key: 5})
    d1, d2, d3 = D0, D0 + timedelta(days=1), D0 + timedelta(days=2)
    assert shelf.serve(key, 3, d1) == 3
    assert shelf.serve(key, 4, d2) == 2  # 2 lost, never backordered
    shelf.record_order(key, d2, 10)
    shelf.receive(key, 10, d3)
    assert shelf.serve(key, 1, d3) == 1
    assert shelf.on_hand(key) == 9
    assert [(r["demand"], r["served"], r["on_hand_end"], r["ordered"], r["received"]) for r in shelf.ledger()] == [
        (3, 3, 2, 0, 0), (4, 2, 0, 10, 0), (1, 1, 9, 0, 10)]


def test_shelf_day_receives_first_and_ledger_is_sorted_by_sku_location_date():
    shelf = Shelf({("B", "s"): 0, ("A", "t"): 1})
    shelf.day(D0 + timedelta(days=1), {("B", "s"): 2}, {("B", "s"): 5})
    served = shelf.day(D0, {("A", "t"): 3, ("B", "s"): 0})
    assert served == {("B", "s"): 0, ("A", "t"): 1}
    rows = shelf.ledger()
    assert [(r["sku"], r["date"]) for r in rows] == [("A", D0), ("A", D0 + timedelta(days=1)), ("B", D0),
                                                     ("B", D0 + timedelta(days=1))]
    assert rows[3]["served"] == 2 and rows[3]["on_hand_end"] == 3
    with pytest.raises(KeyError):
        shelf.serve(("C", "s"), 1, D0)


@given(st.floats(0, 50), st.lists(st.tuples(st.floats(0, 30), st.floats(0, 40)), min_size=1, max_size=40))
def test_shelf_never_goes_negative_nor_serves_more_than_asked(opening, days):
    key = ("A", "s")
    shelf = Shelf({key: opening})
    for i, (receipt, demand) in enumerate(days):
        shelf.day(D0 + timedelta(days=i), {key: demand}, {key: receipt})
    before = opening
    for row in shelf.ledger():
        assert 0 <= row["served"] <= row["demand"]
        assert row["on_hand_end"] >= 0
        assert row["on_hand_end"] == pytest.approx(before + row["received"] - row["served"])
        before = row["on_hand_end"]
