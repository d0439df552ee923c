"""Vectorized recompute of many positions at once (same formulas as compute_position, arrays in/out)."""

from __future__ import annotations

import numpy as np

from .formulas import round_lot
from .targets import compute_targets

STATUS_NAMES = np.array(["ok", "overstock", "watch", "critical", "stockout"])


def bulk_positions(on_hand, on_order, backorder, daily_mean, daily_std, lead_time_days, *,
                   lead_time_std_days=0.0, service_level=0.95, review_days=7.0, periodic=False,
                   fill_rate=False, overstock_days=30.0) -> dict[str, np.ndarray]:
    """Levels, days of cover, days to stockout (constant demand, no arrivals) and §4 status codes."""
    on_hand = np.asarray(on_hand, dtype=float)
    d = np.asarray(daily_mean, dtype=float)
    position = on_hand + np.asarray(on_order, dtype=float) - np.asarray(backorder, dtype=float)
    t = compute_targets(d, daily_std, lead_time_days, lead_time_std_days=lead_time_std_days,
                        review_days=review_days, periodic=periodic, service_level=service_level,
                        fill_rate=fill_rate)
    safe_d = np.where(d > 0, d, 1.0)
    cover = np.where(d > 0, on_hand / safe_d, np.inf)
    # the stockout day is the first whole day on which cumulative demand reaches on-hand
    free = np.maximum(on_hand - np.asarray(backorder), 0)
    to_stockout = np.where(d > 0, np.ceil(free / safe_d) - 1, np.inf)
    status = np.select(
        [on_hand <= 0, to_stockout < lead_time_days, position <= t.reorder_point,
         position > t.order_up_to + overstock_days * d],
        [4, 3, 2, 1], default=0)
    return {"inventory_position": position, "safety_stock": t.safety_stock,
            "reorder_point": t.reorder_point, "order_up_to": t.order_up_to, "days_of_cover": cover,
            "days_to_stockout": to_stockout, "status": status}


def bulk_order_quantities(position: dict[str, np.ndarray], moq=0.0, pack_size=1.0,
                          max_qty=None) -> np.ndarray:
    """Quantity per SKU-location that decide_reorder would order (continuous review)."""
    ip, rop, up_to = position["inventory_position"], position["reorder_point"], position["order_up_to"]
    return np.where(ip <= rop, round_lot(up_to - ip, moq, pack_size, max_qty), 0.0)
