"""What the decider stores and publishes is plain JSON: no numpy, no dates, no NaN or infinity."""
from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from services.policy.outputs import jsonable


def test_numpy_dates_and_non_finite_floats_become_plain_json():
    value = {"a": (1, np.float64(2.5), True), "b": float("inf"), "c": date(2026, 3, 2),
             "d": np.array([1.0, np.nan]), "e": {"f": datetime(2026, 3, 2, 12, tzinfo=UTC), "g": None},
             "h": np.int64(7), "i": "text"}
    assert jsonable(value) == {"a": [1, 2.5, True], "b": None, "c": "2026-03-02", "d": [1.0, None],
                               "e": {"f": "2026-03-02T12:00:00+00:00", "g": None}, "h": 7, "i": "text"}
    assert type(jsonable(np.float64(2.5))) is float and type(jsonable(np.int64(7))) is int
