from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from replenish.replay.baseline import simulate, tune, world
from replenish.replay.dataset import Selection, Series, select
from replenish.replay.world import lead_draw
from tests.replay.conftest import synthetic

D0 = date(2024, 5, 1)


def one_series(test, history, opening):
    days = [D0 + timedelta(days=i) for i in range(len(test))]
    key = ("A", "s")
    return Selection([D0 - timedelta(days=len(history) - i) for i in range(len(history))], days,
                     [Series("A", "s", np.array(history + test, dtype=float))], [], {key: float(opening)},
                     {key: np.array(history, dtype=float)}, {key: np.array(test, dtype=float)})


def test_min_max_orders_up_to_max_when_the_position_falls_to_min():
    # mean 2, lead 2, review 3, k = 1: min 4, max 10; the opening 1 runs out on day 0 and day 1 loses 2
    sel = one_series([2.0] * 10, [2.0] * 20, opening=1)
    out = simulate(world(sel, lead=2, review_days=3), 1.0, keep_ledger=True)
    led = {name: a[0].tolist() for name, a in out.ledger.items()}
    assert led["served"] == [1, 0, 2, 2, 2, 2, 2, 2, 2, 2]
    assert led["on_hand_end"] == [0, 0, 8, 6, 4, 2, 6, 4, 2, 6]
    assert led["ordered"] == [10, 0, 0, 0, 6, 0, 0, 6, 0, 0]
    assert led["received"] == [0, 0, 10, 0, 0, 0, 6, 0, 0, 6]
    assert out.fill_rate == 17 / 20 and out.mean_on_hand == 38 / 10


def reference(sel, k, lead, std, review, seed):
    """A plain per-series loop of the same rule, to hold the vectorized one to."""
    served = demanded = 0.0
    rows = []
    for sku, loc in sel.keys:
        mean = sum(sel.history[(sku, loc)]) / len(sel.history[(sku, loc)])
        low, due, on_hand = k * mean * lead, {}, sel.opening[(sku, loc)]
        for t, (day, demand) in enumerate(zip(sel.test_days, sel.test[(sku, loc)], strict=True)):
            on_hand += due.pop(t, 0.0)
            sold = min(demand, max(on_hand, 0.0))
            on_hand -= sold
            position = on_hand + sum(due.values())
            qty = float(np.ceil(low + mean * review - position - 1e-9)) if position <= low else 0.0
            if qty > 0:
                at = t + lead_draw(seed, sku, loc, day, lead, std)
                due[at] = due.get(at, 0.0) + qty
            served, demanded = served + sold, demanded + demand
            rows.append((sold, on_hand, qty))
    return served / demanded, rows


def test_vectorized_simulation_matches_a_plain_loop_with_random_lead_times():
    sel = select(synthetic(n_series=5, n_days=150), days=60, history=90)
    w = world(sel, lead=5, lead_std=2, review_days=7, seed=3)
    for k in (0.0, 0.7, 2.5):
        out = simulate(w, k, keep_ledger=True)
        fill, rows = reference(sel, k, 5, 2, 7, 3)
        assert out.fill_rate == fill
        mine = [(out.ledger["served"][i, t], out.ledger["on_hand_end"][i, t], out.ledger["ordered"][i, t])
                for i in range(len(sel.keys)) for t in range(len(sel.test_days))]
        assert mine == rows


def test_one_k_is_bisected_to_the_smallest_reaching_the_platform_fill():
    sel = select(synthetic(n_series=8, n_days=200), days=60, history=120)
    result = tune(sel, platform_fill=0.9, target_fill=0.95, lead=7, review_days=7)
    assert not result.dominates and result.reached and result.goal == 0.9
    assert result.fill_rate >= 0.9
    w = world(sel, lead=7, review_days=7)
    assert simulate(w, result.k - 1e-6).fill_rate < 0.9
    assert simulate(w, result.k).mean_on_hand == result.mean_on_hand
    assert len(result.ledger) == 8 * 60


def test_baseline_dominates_when_k_zero_already_reaches_the_platform_and_is_tuned_to_the_target():
    sel = select(synthetic(n_series=8, n_days=200), days=60, history=120)
    zero = simulate(world(sel, lead=7, review_days=7), 0.0).fill_rate
    result = tune(sel, platform_fill=zero - 0.05, target_fill=0.95, lead=7, review_days=7)
    assert result.dominates and result.goal == 0.95 and result.fill_rate >= 0.95 and result.k > 0
    easy = tune(sel, platform_fill=zero - 0.05, target_fill=zero - 0.01, lead=7, review_days=7)
    assert easy.dominates and easy.k == 0.0


def test_orders_are_rounded_up_to_the_pack():
    sel = select(synthetic(n_series=3, n_days=150), days=60, history=90)
    packs = {key: 12.0 for key in sel.keys}
    result = tune(sel, platform_fill=0.9, target_fill=0.95, lead=4, review_days=7, packs=packs)
    ordered = [r["ordered"] for r in result.ledger if r["ordered"]]
    assert ordered and all(q % 12 == 0 for q in ordered)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=2, max_size=25), st.integers(1, 30), st.integers(0, 40),
       st.floats(0, 5), st.integers(1, 9), st.floats(0, 4))
def test_baseline_never_holds_negative_stock_nor_serves_more_than_demand(test, history_level, opening, k, lead,
                                                                          std):
    sel = one_series([float(x) for x in test], [float(history_level)] * 5, opening)
    out = simulate(world(sel, lead=lead, lead_std=std, review_days=3, seed=1), k, keep_ledger=True)
    assert (out.ledger["on_hand_end"] >= 0).all()
    assert (out.ledger["served"] <= np.array(test)).all() and (out.ledger["served"] >= 0).all()
    assert 0 <= out.fill_rate <= 1


def test_lead_times_per_series_override_the_global_lead():
    sel = select(synthetic(n_series=3, n_days=100), days=30, history=60)
    first = sel.keys[0]
    w = world(sel, lead=7, lead_times={first: (2.0, 0.0)})
    assert w.leads[0].tolist() == [2] * 30 and w.leads[1].tolist() == [7] * 30
    assert w.lead.tolist() == [2.0, 7.0, 7.0]
