"""Data quality signals a planner checks before trusting a forecast: gaps, spikes, count vs ledger."""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SalesGap:
    location: str
    sku: str
    first_missing: date
    last_missing: date
    days: int


def sales_gaps(sale_days: Mapping[tuple[str, str], Iterable[date]], *, factor: float = 3.0,
               min_days: int = 3) -> list[SalesGap]:
    """Runs of days without sales longer than `factor` × the SKU's usual interval (and ≥ `min_days`).

    A fast mover silent for a week is a feed problem more often than zero demand ("false stockouts").
    """
    gaps = []
    for (location, sku), days in sale_days.items():
        ordered = sorted(set(days))
        steps = [(b - a).days for a, b in pairwise(ordered)]
        if not steps:
            continue
        usual = statistics.median(steps)
        for start, step in zip(ordered, steps, strict=False):
            missing = step - 1
            if missing >= min_days and step > factor * usual:
                gaps.append(SalesGap(location, sku, date.fromordinal(start.toordinal() + 1),
                                     date.fromordinal(start.toordinal() + step - 1), missing))
    return gaps


def spikes(daily: Sequence[float], *, k: float = 4.0, min_points: int = 8) -> list[int]:
    """Indexes whose value exceeds the mean of the other days by more than k·σ of the other days.

    Leave-one-out, so a huge spike does not inflate the σ it is judged against.
    """
    values = np.asarray(daily, dtype=float)
    n = values.size
    if n < min_points:
        return []
    others = n - 1
    mean = (values.sum() - values) / others
    variance = ((values**2).sum() - values**2) / others - mean**2
    sigma = np.sqrt(np.clip(variance, 0.0, None))
    flagged = (values > mean + k * sigma) & (sigma > 0)
    return [int(i) for i in np.flatnonzero(flagged)]


@dataclass(frozen=True)
class Discrepancy:
    location: str
    sku: str
    time: datetime
    expected: float
    counted: float

    @property
    def difference(self) -> float:
        """Counted minus expected: negative is shrinkage (theft, damage, unrecorded scrap)."""
        return self.counted - self.expected


_EFFECT = {"sale": -1.0, "return": 1.0, "stock_adjustment": 1.0}


def ledger_discrepancies(records: Iterable[Mapping[str, Any]], *,
                         tolerance: float = 1e-9) -> list[Discrepancy]:
    """Replay sales/stock payloads per location:sku in event time and compare each count with the ledger.

    Order rule: a count is absolute as of its time and includes every movement at or before that time;
    sales, returns and adjustments after it apply on top. The first count only sets the baseline.
    """
    by_key: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_key[(record["location"], record["sku"])].append(record)
    found = []
    for (location, sku), events in by_key.items():
        on_hand = None
        for event in sorted(events, key=lambda e: (_time(e["time"]), e["type"] == "stock_count")):
            if event["type"] == "stock_count":
                counted = float(event["on_hand"])
                if on_hand is not None and abs(counted - on_hand) > tolerance:
                    found.append(Discrepancy(location, sku, _time(event["time"]), on_hand, counted))
                on_hand = counted
            elif on_hand is not None:
                on_hand += _EFFECT[event["type"]] * float(event["quantity"])
    return found


def _time(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
