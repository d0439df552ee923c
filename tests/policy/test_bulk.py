"""The vectorized position (bulk recompute) agrees with the scalar one policy decides with."""
from datetime import UTC, datetime

import numpy as np
import pytest

from services.policy.domain.bulk import STATUS_NAMES, bulk_positions
from services.policy.domain.model import DemandView, PolicyParams, Stock
from services.policy.domain.position import compute_position


def test_bulk_positions_agree_with_compute_position():
    as_of = datetime(2026, 1, 5, tzinfo=UTC)
    cases = [(0.0, 0.0, 10.0), (30.0, 0.0, 10.0), (60.0, 0.0, 10.0), (90.0, 50.0, 10.0), (900.0, 0.0, 10.0)]
    arr = np.array(cases)
    bulk = bulk_positions(arr[:, 0], arr[:, 1], 0.0, arr[:, 2], 3.0, 5.0, lead_time_std_days=1.0)
    for i, (on_hand, on_order, d) in enumerate(cases):
        params = PolicyParams(lead_time_days=5, lead_time_std_days=1.0)
        p = compute_position("s", "l", Stock(on_hand, on_order), DemandView(d, 3.0), params, as_of)
        assert bulk["reorder_point"][i] == pytest.approx(p.reorder_point)
        assert bulk["order_up_to"][i] == pytest.approx(p.order_up_to)
        assert STATUS_NAMES[bulk["status"][i]] == p.status
