"""Pure assembly of one key's decision inputs (demand view, lead time, donors, day) from the rows read for it."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from .model import DemandView
from .promotions import Promotion
from .reorder import Donor

HISTORY_DAYS = 56          # fallback demand window when no forecast has arrived yet
LEAD_TIME_PRIOR_WEIGHT = 3  # master-data lead time counts as this many receipts when blending
Z_P10_P90 = 2.563           # width of the p10–p90 band of a standard normal


def local_day_in(timezone: str | None, at: datetime) -> date:
    """Days are the location's local calendar days (docs/contract.md §8); UTC when the zone is unknown."""
    try:
        return at.astimezone(ZoneInfo(timezone or "UTC")).date()
    except (KeyError, ValueError):
        return at.astimezone(UTC).date()


@dataclass(frozen=True)
class Horizon:
    """A forecast's horizon as arrays: ISO dates, daily means and p10–p90 spreads as σ (both cleaned)."""

    dates: np.ndarray
    means: np.ndarray
    spread: np.ndarray
    promo: np.ndarray | None = None  # bool per day: the forecast already lifted it for a known promotion


def horizon_arrays(points: list[dict[str, Any]]) -> Horizon:
    """The horizon points of a forecast payload as arrays (read once, used for every day it is the latest)."""
    promo = np.array([p.get("promo") is True for p in points], dtype=bool)
    return Horizon(np.array([p["date"] for p in points], dtype=str),
                   clean(np.array([p["mean"] for p in points], dtype=float)),
                   clean((np.array([p["p90"] for p in points], dtype=float)
                          - np.array([p["p10"] for p in points], dtype=float)) / Z_P10_P90),
                   promo if promo.any() else None)


def horizon_demand(horizon: Horizon, day: date, residual_std: float | None, model: Any,
                   regimes: tuple[Any, Any] = (None, None)) -> DemandView:
    """Demand from a forecast's horizon after `day` (all of it when none is later)."""
    later = horizon.dates > day.isoformat()
    means, spread = (horizon.means[later], horizon.spread[later]) if later.any() else (horizon.means, horizon.spread)
    promo = None if horizon.promo is None else (horizon.promo[later] if later.any() else horizon.promo)
    std = residual_std
    if std is None or not math.isfinite(std) or std < 0:  # no usable residual spread: the p10–p90 band's
        std = float(np.mean(spread[:28])) if len(spread) else 0.0
    return DemandView(daily_mean=float(np.mean(means[:28])), daily_std=float(min(std, MAX_DAILY)),
                      source=f"forecast:{model}", horizon_means=means, horizon_promo=promo,
                      regular_std=usable_std(regimes[0]), promo_std=usable_std(regimes[1]))


def usable_std(value: Any) -> float | None:
    """A forecast's σ when it is a finite non-negative number, capped at MAX_DAILY; else None."""
    try:
        std = float(value)
    except (TypeError, ValueError):
        return None
    return min(std, MAX_DAILY) if math.isfinite(std) and std >= 0 else None


def forecast_demand(forecast: dict[str, Any] | None, day: date) -> DemandView | None:
    """Demand from the latest forecast's horizon after `day` (all of it when none is later); None without one."""
    if not forecast or not forecast.get("horizon"):
        return None
    return horizon_demand(horizon_arrays(forecast["horizon"]), day, forecast.get("residual_std"),
                          forecast.get("model"),
                          (forecast.get("residual_std_regular"), forecast.get("residual_std_promo")))


MAX_DAILY = 1e12  # a daily demand beyond any real one: caps overflow, keeps every product finite


def clean(values: np.ndarray) -> np.ndarray:
    """Daily quantities as policy may use them: NaN or negative become 0, +inf and the absurd are capped."""
    return np.clip(np.nan_to_num(values, nan=0.0, posinf=MAX_DAILY, neginf=0.0), 0.0, MAX_DAILY)


def history_start(first_sale: date | None, day: date) -> date | None:
    """First day of the fallback window: the first sale, at most HISTORY_DAYS back; None without sales."""
    return None if first_sale is None else max(first_sale, day - timedelta(days=HISTORY_DAYS - 1))


def history_demand(first_sale: date | None, sales: dict[date, float], day: date) -> DemandView:
    """Cold start: mean and spread of daily sales from the window start to `day`, days without sales as 0."""
    start = history_start(first_sale, day)
    if start is None:
        return DemandView(daily_mean=0.0, daily_std=0.0, source="history")
    n = max((day - start).days + 1, 1)
    series = np.array([sales.get(start + timedelta(days=i), 0.0) for i in range(n)], dtype=float)
    series = clean(series[~np.isnan(series)]) if np.any(~np.isnan(series)) else np.zeros(1)
    n = len(series)
    return DemandView(daily_mean=float(series.mean()), daily_std=float(series.std(ddof=1)) if n > 1 else 0.0,
                      source=f"history:{n}d")


def blend_lead_time(si: dict[str, Any] | None, receipts: int, mean: float,
                    std: float) -> tuple[float, float, dict[str, Any]]:
    """Master-data lead time blended with learned decision→receipt days (master counts as a few receipts).
    Whatever is stored, the result is finite and ≥ 0: a NaN or negative input falls back to the master value."""
    lead = _sane(_number((si or {}).get("lead_time_days"), 7.0), 7.0)
    lead_std = _sane(_number((si or {}).get("lead_time_std_days"), 0.0), 0.0)
    mean, std = _sane(mean, lead), _sane(std, 0.0)
    if not si:
        return lead, lead_std, {"source": "default"}
    if not receipts:
        return lead, lead_std, {"source": "master", "receipts": 0}
    w, n = LEAD_TIME_PRIOR_WEIGHT, receipts
    blended = (w * lead + n * mean) / (w + n)
    blended_std = (w * lead_std + n * std) / (w + n) if n > 1 else lead_std
    return blended, blended_std, {"source": "blended", "receipts": n, "learned_mean": mean, "learned_std": std,
                                  "master": lead, "formula": f"(w·master + n·learned)/(w+n), w={w}, n={n}"}


def _number(value: Any, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


MAX_LEAD_DAYS = 3650.0  # ten years: beyond that a lead time is a data error, not a plan


def _sane(value: float, default: float) -> float:
    """A finite value in [0, MAX_LEAD_DAYS], else the default (lead times are never negative, NaN or absurd)."""
    return min(value, MAX_LEAD_DAYS) if math.isfinite(value) and value >= 0 else default


def donors_from(lanes: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[Donor, ...]:
    """Sending locations (lane, their position) whose stock exceeds their own order-up-to level."""
    out = []
    for lane, pos in lanes:
        excess = min(pos.get("on_hand") or 0.0, pos.get("inventory_position") or 0.0) - (pos.get("order_up_to") or 0)
        if excess > 0 and lane.get("lead_time_days") is not None:
            out.append(Donor(location=lane["from_location"], excess=float(excess),
                             lane_lead_time_days=float(lane["lead_time_days"]), lane_unit_cost=lane.get("unit_cost")))
    return tuple(out)


def promotions_from(rows: list[dict[str, Any]], day: date) -> list[Promotion]:
    """Promotions not over before `day`."""
    return [Promotion(date.fromisoformat(p["start"][:10]), date.fromisoformat(p["end"][:10]),
                      p.get("expected_uplift")) for p in rows if p.get("end", "9999") >= day.isoformat()]
