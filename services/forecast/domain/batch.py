"""forecast_batch: from daily histories to quantile forecasts, one vectorized pass per group of series."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

import numpy as np

from .calendar import holiday_ids, weekdays
from .demand import classify, classify_matrix, impute_censored
from .models import MODELS
from .portfolio import ENSEMBLE, Design, backtest, combine, predict, select
from .prophet_pass import prophet_refine
from .quantiles import DEFAULT_QUANTILES, WIDE_DISPERSION, count_quantiles, make_quantiles, quantile_levels
from .spread import regime_std, residual_std
from .types import SeriesForecast, SeriesHistory

DEFAULT_MODELS = ("ses_weekly", "weekday_avg", "seasonal_naive", "moving_avg",
                  "croston_sba", "tsb", "adida", "imapa")
MIN_OBSERVED = 15
COLD_START_DAYS = 28
CONFIDENT_DAYS = 56
PROPHET_BUDGET = 3  # Prophet trials per call: two fits each, ~100x a cheap forecast


def forecast_batch(batch: list[SeriesHistory], horizon: int = 90, quantiles=DEFAULT_QUANTILES,
                   use_prophet: bool | str = "auto", models: tuple[str, ...] | None = None,
                   prophet_budget: int = PROPHET_BUDGET) -> list[SeriesForecast]:
    """Forecast every series of ``batch`` (same order); see the package docstring for the rules."""
    if horizon < 1:
        raise ValueError("horizon must be at least one day")
    names = list(models or DEFAULT_MODELS)
    unknown = sorted(set(names) - MODELS.keys())
    if unknown:
        raise ValueError(f"unknown models: {unknown}")
    qs = quantile_levels(quantiles)
    batch = [with_censored_estimated(s) for s in batch]
    out: list[SeriesForecast | None] = [None] * len(batch)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, series in enumerate(batch):
        plan = backtest_plan(series)
        if plan is None:
            out[i] = short_forecast(series, horizon, qs)
        else:
            groups.setdefault(plan, []).append(i)
    for plan, rows in groups.items():
        members = [batch[i] for i in rows]
        run = GroupRun(members, plan, horizon, qs, names)
        for i, fc in zip(rows, run.forecasts(use_prophet, prophet_budget), strict=True):
            out[i] = fc
    return out  # type: ignore[return-value]


def with_censored_estimated(series: SeriesHistory) -> SeriesHistory:
    """The series with the demand of its censored days that sold something estimated (demand.impute_censored)."""
    if series.floor is None:
        return series
    return replace(series, demand=impute_censored(series.demand, series.floor), floor=None)


def backtest_plan(series: SeriesHistory) -> tuple[int, int] | None:
    """(origins, backtest horizon) for a series, or None when it is too short or a cold start."""
    y = np.asarray(series.demand, dtype=float)
    observed = int(np.count_nonzero(~np.isnan(y)))
    if observed < MIN_OBSERVED or (series.like_profile is not None and observed < COLD_START_DAYS):
        return None
    step = 28 if len(y) >= 56 else 7
    return int(np.clip((len(y) - 2 * step) // step + 1, 1, 3)), step


def short_forecast(series: SeriesHistory, horizon: int, qs: list[float]) -> SeriesForecast:
    """Mean of the few observed days (or a borrowed like-profile), with wide count quantiles."""
    y = np.asarray(series.demand, dtype=float)
    seen = y[~np.isnan(y)]
    own = float(seen.mean()) if len(seen) else 0.0
    if series.like_profile is not None and len(series.like_profile) > 0:
        profile = np.resize(np.maximum(np.nan_to_num(series.like_profile), 0.0), horizon)
        weight = len(seen) / (len(seen) + 14.0)  # own history takes over as it accumulates
        scale = (1 - weight) + weight * own / profile.mean() if profile.mean() > 0 else 1.0
        mean, model = profile * scale, "cold_start"
    else:
        mean, model = np.full(horizon, own), "short_mean"
    var = float(seen.var()) if len(seen) > 1 else 0.0
    ratio = max(WIDE_DISPERSION, 2 * var / own) if own > 0 else WIDE_DISPERSION
    qv = np.maximum.accumulate(np.maximum(count_quantiles(mean[None, :], np.array([ratio]), qs)[:, 0], 0),
                               axis=0)
    return SeriesForecast(
        key=series.key, model=model, demand_class=classify(y), start=series.end + datetime.timedelta(days=1),
        mean=mean, quantiles={q: qv[i] for i, q in enumerate(qs)},
        residual_std=float(np.sqrt(ratio * float(mean.mean()))),
        accuracy={"wape": None, "mase": None, "bias": None}, low_confidence=True,
    )


def build_design(members: list[SeriesHistory], horizon: int) -> Design:
    """Right-align the histories (left padding is NaN) and lay out calendar and promotions."""
    t_len, n = max(len(s.demand) for s in members), len(members)
    y = np.full((n, t_len), np.nan)
    wd = np.empty((n, t_len + horizon), dtype=int)
    promo = np.zeros((n, t_len + horizon), dtype=bool)
    holiday = np.zeros((n, t_len + horizon), dtype=int)
    registry: dict[str, int] = {}
    for i, s in enumerate(members):
        pad = t_len - len(s.demand)
        y[i, pad:] = np.asarray(s.demand, dtype=float)
        first = s.start - datetime.timedelta(days=pad)
        wd[i] = weekdays(first, t_len + horizon)
        if s.promo is not None:
            p = np.nan_to_num(np.asarray(s.promo, dtype=float))[: len(s.demand) + horizon]
            promo[i, pad:pad + len(p)] = p > 0
        holiday[i] = holiday_ids(s.country, s.subdivision, first, t_len + horizon, registry)
    return Design(y, wd, (promo, holiday))


@dataclass
class GroupRun:
    """One vectorized portfolio pass over series sharing a backtest plan."""

    members: list[SeriesHistory]
    plan: tuple[int, int]
    horizon: int
    qs: list[float]
    names: list[str]

    def forecasts(self, use_prophet: bool | str, prophet_budget: int) -> list[SeriesForecast]:
        design = build_design(self.members, self.horizon)
        origins, step = self.plan
        bt = backtest(design, self.names, origins, step)
        sel = select(bt, self.names)
        t_len = design.y.shape[1]
        y, wd, wd_h, ev, ev_h = design.cut(t_len, self.horizon)
        mean = combine(predict(y, wd, wd_h, ev, ev_h, self.names), sel, len(self.names))
        labels = [*self.names, ENSEMBLE]
        model = [labels[c] for c in sel.choice]
        # (n, origins * step) matrices of backtest errors (actual − forecast) and forecasts
        errors = np.moveaxis(bt.actuals - sel.forecasts, 0, 1).reshape(len(self.members), -1)
        fitted = np.moveaxis(sel.forecasts, 0, 1).reshape(len(self.members), -1)
        classes = classify_matrix(design.y)
        if use_prophet:
            prophet_refine(self.members, design, step, classes, mean, errors, fitted, model,
                           forced=use_prophet is True, budget=prophet_budget)
        return self._package(design, mean, errors, fitted, classes, model)

    def _package(self, design, mean, errors, fitted, classes, model) -> list[SeriesForecast]:
        qv = make_quantiles(mean, errors, fitted, classes, self.qs)
        protection_std = residual_std(errors, self.plan[1])
        t_len, span = design.y.shape[1], errors.shape[1]
        regular, promoted = regime_std(errors, design.events[0][:, t_len - span:t_len], self.plan[1], protection_std)
        acc = backtest_accuracy(design.y, errors, fitted)
        out = []
        for i, s in enumerate(self.members):
            observed = int(np.count_nonzero(~np.isnan(s.demand)))
            wape = acc["wape"][i]
            out.append(SeriesForecast(
                key=s.key, model=model[i], demand_class=str(classes[i]),
                start=s.end + datetime.timedelta(days=1), mean=mean[i],
                quantiles={q: qv[j, i] for j, q in enumerate(self.qs)},
                residual_std=float(protection_std[i]),
                accuracy={k: acc[k][i] for k in ("wape", "mase", "bias")},
                low_confidence=observed < CONFIDENT_DAYS or wape is None or wape > 1.0,
                regular_std=_known(regular[i]), promo_std=_known(promoted[i]),
            ))
        return out


def _known(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def backtest_accuracy(y: np.ndarray, errors: np.ndarray, fitted: np.ndarray) -> dict[str, list]:
    """Per series WAPE, MASE (seasonal-naive scale, m = 7) and bias of the backtest errors."""
    scored = ~np.isnan(errors)
    actual = np.where(scored, fitted + errors, 0.0)
    total = actual.sum(axis=1)
    abs_err = np.where(scored, np.abs(errors), 0.0).sum(axis=1)
    n_scored = scored.sum(axis=1)
    with np.errstate(all="ignore"):
        diff = np.abs(y[:, 7:] - y[:, :-7])
        scale = np.where((~np.isnan(diff)).any(axis=1), np.nanmean(diff, axis=1), np.nan)
    over = np.where(scored, -errors, 0.0).sum(axis=1)

    def metric(num, den, ok):
        return [float(a / b) if o else None for a, b, o in zip(num, den, ok, strict=True)]

    return {
        "wape": metric(abs_err, total, total > 0),
        "mase": metric(abs_err / np.maximum(n_scored, 1), scale, (scale > 0) & (n_scored > 0)),
        "bias": metric(over, total, total > 0),
    }
