"""From stored rows to the core's inputs and from its forecasts to the DemandForecast payload."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from services.forecast.domain import SeriesForecast, SeriesHistory, censor_stockouts, forecast_batch
from services.forecast.domain.demand import mase_scale
from services.forecast.planning import EPOCH, DemandArrays

LIVE_MIN_DAYS = 14  # live accuracy replaces the backtest in `accuracy` once this many days are scored


def build_history(row: Any, days: DemandArrays, locations: dict, promos: list[Any], horizon: int,
                  like_profile: np.ndarray | None = None) -> SeriesHistory:
    """Zero-filled daily demand from the first to the last day seen; stockout days are censored (NaN),
    so are the days of a stockout still going on; what each censored day sold is kept as its `floor`."""
    n = (row.last_day - row.first_day).days + 1
    demand, in_stock = np.zeros(n), np.ones(n, dtype=bool)
    at = days.offsets - (row.first_day - EPOCH).days
    inside = (at >= 0) & (at < n)
    demand[at[inside]], in_stock[at[inside]] = days.quantity[inside], ~days.stockout[inside]
    if getattr(row, "out_since", None) is not None:
        in_stock[max((row.out_since - row.first_day).days, 0):] = False
    promo = np.zeros(n + horizon)
    for p in promos:
        if p.sku == row.sku and p.location in ("*", row.location):
            lo, hi = max((p.start - row.first_day).days, 0), min((p.end - row.first_day).days + 1, n + horizon)
            promo[lo:hi] = 1
    loc = locations.get(row.location, {})
    return SeriesHistory(key=f"{row.location}:{row.sku}", start=row.first_day,
                         demand=censor_stockouts(demand, in_stock), promo=promo if promo.any() else None,
                         country=loc.get("country"), subdivision=loc.get("subdivision"), like_profile=like_profile,
                         floor=np.where(in_stock, np.nan, demand) if not in_stock.all() else None)


def round_histories(rows: list[Any], days: dict, locations: dict, promos: list[Any], horizons: list[int],
                    profiles: dict) -> tuple[list[SeriesHistory], list[str]]:
    """A round's core inputs: each row's history (build_history) laid out over the round's longest horizon, with
    its borrowed profile; and each row's cold-start kind ("" without a profile). `profiles`: (location, sku) →
    (kind, profile or None)."""
    horizon = max(horizons)
    histories, cold = [], []
    for r in rows:
        kind, profile = profiles.get((r.location, r.sku), ("", None))
        cold.append(kind if profile is not None else "")
        histories.append(build_history(r, days[(r.location, r.sku)], locations, promos, horizon, like_profile=profile))
    return histories, cold


def fit_round(batch: list[SeriesHistory], horizon: int, use_prophet: Any, quantiles: tuple[float, ...],
              budget: int) -> list[SeriesForecast]:
    """One forecast_batch call (a worker process's unit of work): the round's pooling and Prophet budget."""
    return forecast_batch(batch, horizon=horizon, quantiles=quantiles, use_prophet=use_prophet,
                          prophet_budget=budget)


def series_payload(row: Any, fc: SeriesForecast, history: SeriesHistory, horizon: int, overrides: list[Any],
                   logs: list[Any], now: datetime, cold_start: str, recent_days: int) -> tuple[dict[str, Any],
                                                                                              np.ndarray]:
    """One fitted series as published: its own horizon with the planner's overrides applied, live accuracy over
    the past forecasts `logs` against the last `recent_days` observed days; returns (payload, daily means)."""
    mean, qs = apply_overrides(fc, overrides, horizon)
    # no past forecast, nothing to score (live_accuracy's empty answer): the actuals need not be read
    live = live_accuracy(logs, recent_actuals(history, recent_days) if logs else {}, history.demand)
    promo = None
    if history.promo is not None:
        ahead = np.asarray(history.promo, dtype=float)[len(history.demand):len(history.demand) + len(mean)]
        promo = np.pad(ahead > 0, (0, len(mean) - len(ahead)))
    return forecast_payload(row, fc, mean, qs, now, live, cold_start, promo), mean


def recent_actuals(history: SeriesHistory, days: int) -> dict[date, float]:
    """Observed (not censored) demand of the last `days` days of a history, by day."""
    tail = history.demand[-days:] if days > 0 else history.demand[:0]
    first = history.end - timedelta(days=len(tail) - 1)
    return {first + timedelta(days=i): float(v) for i, v in enumerate(tail) if not np.isnan(v)}


def apply_overrides(fc: SeriesForecast, overrides: list[Any], days: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """A planner's override replaces or scales the daily mean on its days; quantiles move with it."""
    mean, qs = fc.mean[:days].copy(), {q: v[:days].copy() for q, v in fc.quantiles.items()}
    for o in overrides:
        for i in range(len(mean)):
            if not o.start <= fc.start + timedelta(days=i) <= o.end:
                continue
            if o.multiplier is not None or mean[i] > 0:
                factor = o.multiplier if o.multiplier is not None else o.quantity / mean[i]
                mean[i] *= factor
                for q in qs:
                    qs[q][i] *= factor
            else:  # nothing to scale: the override's quantity is the whole distribution
                mean[i] = o.quantity
                for q in qs:
                    qs[q][i] = o.quantity
    return mean, qs


def live_accuracy(logs: list[Any], actual: dict[date, float], history: np.ndarray) -> dict[str, Any]:
    """WAPE, MASE and bias of past forecasts against the actuals that have since arrived (the latest
    forecast made before each day counts); censored days are not scored."""
    made: dict[date, float] = {}
    for entry in logs:  # ordered by as_of: later forecasts overwrite earlier ones for the same day
        for i, mean in enumerate(entry.means):
            made[entry.as_of + timedelta(days=i + 1)] = mean
    pairs = [(actual[d], f) for d, f in made.items() if d in actual]
    if not pairs:
        return {"wape": None, "mase": None, "bias": None, "days": 0}
    a, f = np.array(pairs).T
    total, scale = float(a.sum()), mase_scale(history)
    return {"wape": float(np.abs(a - f).sum() / total) if total > 0 else None,
            "mase": float(np.abs(a - f).mean() / scale) if scale else None,
            "bias": float((f.sum() - total) / total) if total > 0 else None, "days": len(pairs)}


def forecast_payload(row: Any, fc: SeriesForecast, mean: np.ndarray, qs: dict[float, np.ndarray],
                     now: datetime, live: dict, cold_start: str = "", promo: np.ndarray | None = None
                     ) -> dict[str, Any]:
    """The DemandForecast data (docs/contract.md §4/§7) plus extra quantiles and both accuracies. A horizon day the
    forecast already lifted for a known promotion carries `"promo": true`, so policy does not lift it again."""
    dates = [(fc.start + timedelta(days=i)).isoformat() for i in range(len(mean))]
    horizon = [{"date": d, "mean": m, "p10": a, "p50": b, "p90": c} for d, m, a, b, c in zip(
        dates, _rounded(mean), _rounded(qs[0.1]), _rounded(qs[0.5]), _rounded(qs[0.9]), strict=True)]
    if promo is not None:
        for point, flagged in zip(horizon, promo, strict=False):
            if flagged:
                point["promo"] = True
    backtest = {k: _finite(v) for k, v in fc.accuracy.items()}
    use_live = live.get("days", 0) >= LIVE_MIN_DAYS and live.get("wape") is not None
    return {"sku": row.sku, "location": row.location, "model": fc.model, "demand_class": fc.demand_class,
            "as_of": row.last_day.isoformat(), "generated_at": now.isoformat(), "horizon": horizon,
            "residual_std": _finite(fc.residual_std), "residual_std_regular": _finite(fc.regular_std),
            "residual_std_promo": _finite(fc.promo_std),
            "accuracy": {k: live[k] for k in ("wape", "mase", "bias")} if use_live else backtest,
            "accuracy_source": "live" if use_live else "backtest",
            "backtest_accuracy": backtest, "live_accuracy": live,
            "low_confidence": bool(fc.low_confidence), "cold_start": cold_start or None,
            "quantiles": {_level(q): _rounded(v) for q, v in qs.items() if q not in (0.1, 0.5, 0.9)}}


def _level(q: float) -> str:
    return f"p{round(q * 100, 4):g}"


def _rounded(values: np.ndarray) -> list[float]:
    return np.round(np.asarray(values, dtype=float), 4).tolist()


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None
