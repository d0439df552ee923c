"""Whatever the inputs, a position is finite, and safety stock and order quantities are never negative
(docs/contract.md §10)."""
from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.policy.domain.assemble import blend_lead_time, forecast_demand, history_demand
from services.policy.domain.model import PolicyParams, Stock
from services.policy.domain.position import compute_position
from services.policy.domain.reorder import decide_reorder

DAY = date(2025, 6, 1)
AS_OF = datetime(2025, 6, 1, 23, 59, 59, tzinfo=UTC)
odd = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -1.0, -92.0, 1e12, -1e12]))
quantity = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
sales = st.lists(st.one_of(st.floats(min_value=0, max_value=1e9), st.just(float("nan"))), max_size=60)


def numbers(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from numbers(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from numbers(v, f"{path}[{i}]")
    elif isinstance(value, float | int | np.floating) and not isinstance(value, bool):
        yield path, float(value)


@settings(max_examples=300, deadline=None)
@given(lead=odd, lead_std=odd, learned=odd, learned_std=odd, receipts=st.integers(0, 50), on_hand=quantity,
       on_order=st.floats(min_value=0, max_value=1e9), history=sales, level=st.floats(0.01, 0.999),
       metric=st.sampled_from(["cycle", "fill"]), mode=st.sampled_from(["continuous", "periodic"]),
       pack=st.floats(min_value=0.001, max_value=1e4), moq=st.floats(min_value=0, max_value=1e6),
       shape=st.sampled_from(["normal", "gamma", "auto"]), lost=st.booleans())
def test_any_inputs_give_a_finite_position_and_non_negative_orders(
        lead, lead_std, learned, learned_std, receipts, on_hand, on_order, history, level, metric, mode, pack, moq,
        shape, lost):
    si = {"supplier_id": "S", "sku": "X", "lead_time_days": lead, "lead_time_std_days": lead_std}
    lead_days, lead_sigma, _ = blend_lead_time(si, receipts, learned, learned_std)
    assert math.isfinite(lead_days) and lead_days >= 0 and math.isfinite(lead_sigma) and lead_sigma >= 0
    sold = {date.fromordinal(DAY.toordinal() - i): q for i, q in enumerate(history)}
    demand = history_demand(min(sold) if sold else None, sold, DAY)
    params = PolicyParams(lead_time_days=lead_days, lead_time_std_days=lead_sigma, service_level=level,
                          service_metric=metric, review_mode=mode, pack_size=pack, moq=moq, distribution=shape,
                          lost_sales=lost)
    position = compute_position("X", "L", Stock(on_hand=on_hand, on_order=on_order), demand, params, AS_OF)
    bad = [(p, v) for p, v in numbers(position.to_dict()) if not math.isfinite(v)]
    assert not bad, bad
    assert position.safety_stock >= 0 and position.reorder_point >= 0 and position.order_up_to >= 0
    reorder = decide_reorder(position, params, DAY, "S")
    assert reorder is None or (math.isfinite(reorder.quantity) and reorder.quantity > 0)


@given(points=st.lists(st.tuples(odd, odd, odd), min_size=1, max_size=40), residual=odd)
def test_a_forecast_with_odd_numbers_gives_a_finite_demand(points, residual):
    horizon = [{"date": date.fromordinal(DAY.toordinal() + i + 1).isoformat(), "mean": m, "p10": lo, "p50": m,
                "p90": hi} for i, (m, lo, hi) in enumerate(points)]
    demand = forecast_demand({"horizon": horizon, "residual_std": residual, "model": "x"}, DAY)
    assert demand is not None and math.isfinite(demand.daily_mean) and demand.daily_mean >= 0
    assert math.isfinite(demand.daily_std) and demand.daily_std >= 0
    assert np.all(np.isfinite(demand.horizon_means)) and np.all(demand.horizon_means >= 0)
