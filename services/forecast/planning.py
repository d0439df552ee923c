"""Pure rules the forecaster applies around the core: each series' horizon and its cold-start profile."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

PROFILE_DAYS = 28       # four whole weeks: the weekly shape survives tiling
MIN_PROFILE_DAYS = 7    # fewer observed source days than this is no profile
COVER_WEEKS_DAYS = 28   # the horizon covers lead time + review period + 4 weeks
COLD_START_DAYS = 28    # below this many observed days of its own, a SKU borrows a profile
MAX_CATEGORY_SOURCES = 200  # a category profile averages at most this many member SKUs


EPOCH = date(2000, 1, 1)  # stored days travel as integer offsets from here: no Python object per day


@dataclass(frozen=True)
class DemandArrays:
    """One series' stored daily demand: days as offsets from EPOCH, quantities, stockout flags."""

    offsets: np.ndarray
    quantity: np.ndarray
    stockout: np.ndarray


EMPTY = DemandArrays(np.zeros(0, dtype=int), np.zeros(0), np.zeros(0, dtype=bool))


@dataclass(frozen=True)
class DayDemand:
    """One day of a source SKU's demand at a location; censored when it ended out of stock."""

    sku: str
    day: date
    quantity: float
    censored: bool = False


def required_horizon(sku: str, category: str | None, location: str, supplier_items: Iterable[dict],
                     policies: Iterable[dict], *, default: int, default_review: float) -> int:
    """max(default, longest lead time of the SKU's supplier items + review period + 28 days)."""
    leads = [float(si.get("lead_time_days") or 0) for si in supplier_items if si.get("sku") == sku]
    review = review_days(sku, category, location, policies, default_review)
    return max(default, math.ceil(max(leads, default=0.0) + review) + COVER_WEEKS_DAYS)


def round_horizons(rows: Iterable[Any], items: dict[str, dict], supplier_items: list[dict], policies: list[dict], *,
                   default: int, default_review: float) -> list[int]:
    """required_horizon of each row (location, sku) of a round; `items` gives each SKU's category."""
    return [required_horizon(r.sku, (items.get(r.sku) or {}).get("category"), r.location, supplier_items, policies,
                             default=default, default_review=default_review) for r in rows]


def review_days(sku: str, category: str | None, location: str, policies: Iterable[dict],
                default: float) -> float:
    """Review period of the most specific matching policy (SKU over category over location)."""
    best, best_rank = default, -1
    for p in policies:
        if p.get("review_days") is None:
            continue
        wants = {"sku": sku, "category": category, "location": location}
        if any(p.get(k) not in (None, "", v) for k, v in wants.items()):
            continue
        rank = 4 * bool(p.get("sku")) + 2 * bool(p.get("category")) + bool(p.get("location"))
        if rank > best_rank:
            best, best_rank = float(p["review_days"]), rank
    return best


def profile_sources(item: dict | None, items: dict[str, dict]) -> tuple[str, list[str]]:
    """Where a new SKU borrows demand: ("like_sku", [sku]), ("category", [members]) or ("", [])."""
    if not item:
        return "", []
    like = item.get("like_sku")
    if like and like != item.get("sku"):
        return "like_sku", [like]
    category = item.get("category")
    if category:
        members = sorted(k for k, d in items.items() if d.get("category") == category and k != item.get("sku"))
        return ("category", members[:MAX_CATEGORY_SOURCES]) if members else ("", [])
    return "", []


def borrowed_profile(days: Iterable[DayDemand], sources: list[str], spans: dict[str, tuple[date, date]],
                     first_forecast_day: date, scale: float = 1.0) -> np.ndarray | None:
    """Mean daily demand per source SKU over its last four weeks, weekday-aligned to the first forecast
    day and scaled; censored days and days before a source's first day are unknown (NaN, then filled
    with the mean of its observed days)."""
    known = [s for s in sources if s in spans]
    if not known:
        return None
    ends = {s: spans[s][1] for s in known}
    grid = np.full((len(known), PROFILE_DAYS), np.nan)
    for row, sku in enumerate(known):
        first, last = spans[sku]
        lead = max((first - (last - timedelta(days=PROFILE_DAYS - 1))).days, 0)
        grid[row, lead:] = 0.0  # a day of the source's life without sales is a zero-demand day
    index = {s: i for i, s in enumerate(known)}
    for d in days:
        if d.sku not in index:
            continue
        offset = (d.day - (ends[d.sku] - timedelta(days=PROFILE_DAYS - 1))).days
        if 0 <= offset < PROFILE_DAYS:
            grid[index[d.sku], offset] = np.nan if d.censored else d.quantity
    return _aligned(grid, known, ends, first_forecast_day, scale)


def _aligned(grid: np.ndarray, known: list[str], ends: dict[str, date], first: date,
             scale: float) -> np.ndarray | None:
    rows = []
    for i, sku in enumerate(known):
        row = grid[i]
        if np.count_nonzero(~np.isnan(row)) < MIN_PROFILE_DAYS:
            continue
        row = np.where(np.isnan(row), np.nanmean(row), row)
        window_start = ends[sku] - timedelta(days=PROFILE_DAYS - 1)
        rows.append(np.roll(row, -((first - window_start).days % 7)))  # same weekday at the same index
    if not rows:
        return None
    return np.maximum(np.mean(rows, axis=0), 0.0) * scale


def split_round(items: list, workers: int, min_chunk: int) -> list[list]:
    """At most one chunk per worker, none smaller than min_chunk (one call amortises better than two),
    sizes as equal as possible."""
    if not items:
        return []
    parts = max(1, min(workers, len(items) // max(min_chunk, 1)))
    size, extra = divmod(len(items), parts)
    out, at = [], 0
    for i in range(parts):
        n = size + (i < extra)
        out.append(items[at:at + n])
        at += n
    return out


def observed_days(first_day: date, last_day: date, censored_days: int) -> int:
    return max((last_day - first_day).days + 1 - censored_days, 0)


def needs_profile(first_day: date, last_day: date, censored_days: int) -> bool:
    return observed_days(first_day, last_day, censored_days) < COLD_START_DAYS


def as_day_demand(rows: Iterable[Any]) -> list[DayDemand]:
    return [DayDemand(r.sku, r.day, float(r.quantity), bool(r.stockout)) for r in rows]
