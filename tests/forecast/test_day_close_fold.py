"""The day-close fold of staged stock movements (event clock): censoring in event-time order, whatever order the
sales and stock topics were consumed in; the replay world's stockout days are censored; histories end at D."""
from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest

from services.forecast.day_close import DueRow, cut
from services.forecast.history import Movement, SeriesState
from services.forecast.ledger import fold_moves
from services.forecast.payload import build_history
from services.forecast.planning import EPOCH, DemandArrays

KEY = ("L1", "S1")
D0 = date(2025, 6, 2)


def at(day: int, hour: int) -> datetime:
    return datetime.combine(D0 + timedelta(days=day), time(hour), tzinfo=UTC)


def move(kind: str, qty: float, day: int, hour: int, ref: str) -> tuple[Movement, date, str]:
    return Movement(KEY, at(day, hour), kind, qty), D0 + timedelta(days=day), ref


def replay_world(demand: list[int], opening: int, receipts: dict[int, int]) -> tuple[list, set[date]]:
    """docs/contract.md §9's test days: 06:00 receipts, 12:00 a sale of min(demand, on-hand) (none when nothing sells),
    every 7th day a count at 22:00. Returns the movements and the days whose end on-hand is 0."""
    moves, on_hand, empty = [move("stock_count", opening, -1, 23, "c-open")], opening, set()
    for d, want in enumerate(demand):
        if receipts.get(d):
            on_hand += receipts[d]
            moves.append(move("stock_adjustment", receipts[d], d, 6, f"r{d}"))
        sold = min(want, on_hand)
        on_hand -= sold
        if sold > 0:
            moves.append(move("sale", sold, d, 12, f"s{d}"))
        if d % 7 == 6:
            moves.append(move("stock_count", on_hand, d, 22, f"c{d}"))
        if on_hand == 0:
            empty.add(D0 + timedelta(days=d))
    return moves, empty


def _flags(moves, last: date = D0 + timedelta(days=60)) -> set[date]:
    """Censored days up to `last`: the fold's flags, and a stockout still going on (out_since) up to `last`,
    as build_history censors it."""
    fold = fold_moves({KEY: SeriesState(True, D0 - timedelta(days=1), D0, 0.0)}, moves)
    out_since = fold.series[KEY].out_since
    ongoing = set() if out_since is None else {out_since + timedelta(days=i)
                                                for i in range((last - out_since).days + 1)}
    return {k[2] for k in fold.stockout} | ongoing


def test_a_day_that_ends_with_an_empty_shelf_after_the_sale_is_censored():
    moves, empty = replay_world([5, 5, 5, 4], opening=12, receipts={})
    assert empty == {D0 + timedelta(days=2), D0 + timedelta(days=3)}  # day 2 sells the last 2 of 5 wanted
    assert _flags(moves, last=D0 + timedelta(days=3)) == empty


def test_censored_days_are_exactly_the_empty_days_and_the_refill_day_after_them():
    moves, empty = replay_world([5] * 10, opening=12, receipts={4: 6, 8: 20})
    # day 2 ends at 0; day 3 sells nothing; day 4 refills at 06:00 (out until then) and sells down to 1;
    # day 5 ends at 0; days 6 (counted 0 at 22:00) and 7 sell nothing; day 8 refills at 06:00.
    expected = {D0 + timedelta(days=d) for d in (2, 3, 4, 5, 6, 7, 8)}
    assert _flags(moves, last=D0 + timedelta(days=9)) == expected and empty <= expected


@pytest.mark.parametrize("seed", range(5))
def test_the_flags_do_not_depend_on_the_order_the_movements_were_consumed(seed):
    rnd = random.Random(seed)
    demand = [rnd.choice([0, 2, 5, 9]) for _ in range(40)]
    moves, empty = replay_world(demand, opening=15, receipts={d: rnd.choice([0, 10, 25]) for d in range(0, 40, 5)})
    reference = _flags(moves, last=D0 + timedelta(days=39))
    assert empty <= reference
    for _ in range(10):
        shuffled = moves[:]
        rnd.shuffle(shuffled)
        assert _flags(shuffled, last=D0 + timedelta(days=39)) == reference


def test_same_instant_ins_and_outs_fold_alike_in_any_order():
    base = [move("stock_count", 0, 0, 1, "c")]
    same = [move("stock_adjustment", 5, 0, 9, "a"), move("sale", 3, 0, 9, "b"), move("return", 1, 0, 9, "z")]
    results = {frozenset(_flags(base + list(p))) for p in itertools.permutations(same)}
    assert len(results) == 1


def test_a_history_as_of_a_closed_day_has_no_later_day_and_keeps_an_ongoing_stockout_censored():
    offsets = np.arange(10) + (D0 - EPOCH).days
    arrays = DemandArrays(offsets, np.arange(10, dtype=float), np.array([False] * 3 + [True] + [False] * 6))
    day = D0 + timedelta(days=5)
    row = DueRow("L1", "S1", D0, day, D0 + timedelta(days=4), at(0, 0), 0.0, None)
    history = build_history(row, cut(arrays, day), {}, [], horizon=7)
    assert history.end == day and len(history.demand) == 6
    assert list(np.isnan(history.demand)) == [False, False, False, True, True, True]  # day 3 flagged, 4.. out
    later = DueRow("L1", "S1", D0, D0 + timedelta(days=2), D0 + timedelta(days=4), at(0, 0), 0.0, None)
    assert not np.isnan(build_history(later, cut(arrays, later.last_day), {}, [], 7).demand).any()
