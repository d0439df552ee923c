import math
from datetime import date, timedelta

import numpy as np

from replenish.replay import scores

D0 = date(2024, 6, 1)


def row(sku, day, demand, served, on_hand_end):
    return {"date": D0 + timedelta(days=day), "sku": sku, "location": "s", "demand": demand, "served": served,
            "on_hand_end": on_hand_end, "ordered": 0, "received": 0}


LEDGER = [row("A", 0, 4, 4, 6), row("A", 1, 5, 3, 0), row("A", 2, 0, 0, 0),
          row("B", 0, 0, 0, 10), row("B", 1, 2, 2, 8), row("B", 2, 1, 1, 7)]


def test_headline_scores_from_the_ledger():
    head = scores.headline(scores.book(LEDGER))
    assert head["fill_rate"] == 10 / 12
    assert head["mean_on_hand"] == (16 + 8 + 7) / 3  # Σ over series per day, then the daily mean
    assert head["stockout_days"] == 1
    assert head["cycle_service_level"] == 3 / 4  # 4 series-days with demand, one short


def test_no_demand_scores_full_service_and_no_nan():
    head = scores.headline(scores.book([row("A", 0, 0, 0, 3)]))
    assert head["fill_rate"] == 1.0 and head["cycle_service_level"] == 1.0 and head["mean_on_hand"] == 3.0
    empty = scores.headline(scores.book([]))
    assert all(math.isfinite(v) for v in empty.values())


def test_syntetos_boylan_patterns():
    assert scores.pattern(np.array([5, 6, 5, 6, 5, 6], dtype=float)) == "smooth"
    assert scores.pattern(np.array([1, 20, 1, 20, 1, 20], dtype=float)) == "erratic"
    assert scores.pattern(np.array([0, 0, 5, 0, 0, 5], dtype=float)) == "intermittent"
    assert scores.pattern(np.array([0, 0, 1, 0, 0, 30], dtype=float)) == "lumpy"
    assert scores.pattern(np.zeros(4)) == "none"


def test_abc_by_cumulative_volume_largest_first():
    assert scores.abc({("a", "s"): 80, ("b", "s"): 15, ("c", "s"): 5}) == {
        ("a", "s"): "A", ("b", "s"): "B", ("c", "s"): "C"}
    assert scores.abc({("a", "s"): 90, ("b", "s"): 10})[("a", "s")] == "A"  # the largest is always A


def test_per_class_reports_each_scheme_with_platform_and_baseline():
    schemes = scores.classes({("A", "s"): np.array([5.0, 6, 5, 6]), ("B", "s"): np.array([0.0, 0, 1, 0, 0, 30])},
                             {("A", "s"): "fresh", ("B", "s"): None})
    base = [dict(r, served=r["demand"], on_hand_end=r["on_hand_end"] + 1) for r in LEDGER]
    out = scores.per_class(scores.book(LEDGER), scores.book(base), schemes)
    assert set(out) == {"pattern", "abc", "label"}
    smooth = out["pattern"]["smooth"]
    assert smooth == {"series": 1, "fill_rate": 7 / 9, "mean_on_hand": 2.0, "baseline_fill_rate": 1.0,
                      "baseline_mean_on_hand": 3.0, "share_under_80": 1.0}
    assert out["pattern"]["lumpy"]["share_under_80"] == 0.0
    assert list(out["abc"]) == ["A"] and out["abc"]["A"]["series"] == 2  # B: 31 of 53, then A from 58 %
    assert list(out["label"]) == ["fresh"]
