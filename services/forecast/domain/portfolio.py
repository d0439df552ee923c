"""Portfolio of cheap models: event effects, rolling-origin backtest, per-series selection and ensemble."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models import MODELS, weekday_profile

ENSEMBLE = "ensemble"
ENSEMBLE_SIZE = 3
EVENT_WINDOW = 728
EVENT_SHRINK = 5.0
CLOSED_FACTOR = 0.1
BIAS_WEIGHT = 1.0
HOLIDAY_SHRINK = 1.0
SELF_WEIGHT = 0.5
POOL_MIN_DAYS = 10


@dataclass(frozen=True)
class Design:
    """Right-aligned matrices of one group of series; the horizon columns follow the history."""

    y: np.ndarray  # (n, T) demand, NaN unknown
    wd: np.ndarray  # (n, T + h) weekday 0=Monday
    events: tuple[np.ndarray, np.ndarray]  # (n, T + h): promotion (bool), holiday id (int, 0 = none)

    def cut(self, origin: int, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
        """Training view up to ``origin`` and the calendar of the ``horizon`` days after it."""
        end = origin + horizon
        return (self.y[:, :origin], self.wd[:, :origin], self.wd[:, origin:end],
                [e[:, :origin] for e in self.events], [e[:, origin:end] for e in self.events])


def event_factor(base: np.ndarray, event: np.ndarray, shrink: float = EVENT_SHRINK,
                 pooled: bool = False) -> np.ndarray:
    """Multiplicative effect of an event (promotion, holiday) per series, shrunk towards a target.

    ``base`` is weekday-adjusted demand; the raw factor is mean demand on event days over mean demand
    on other days within the last two years, weighted by how many days of each kind were observed.
    The target is 1, or with ``pooled`` the group's median factor (promotions lift similar SKUs alike).
    """
    base, event = base[:, -EVENT_WINDOW:], event[:, -EVENT_WINDOW:]
    obs = ~np.isnan(base)
    on, off = obs & event, obs & ~event
    n_on, n_off = on.sum(axis=1), off.sum(axis=1)
    mean_on = np.where(on, base, 0.0).sum(axis=1) / np.maximum(n_on, 1)
    mean_off = np.where(off, base, 0.0).sum(axis=1) / np.maximum(n_off, 1)
    ratio = np.where(mean_off > 0, mean_on / np.where(mean_off > 0, mean_off, 1.0), 1.0)
    ratio = np.minimum(ratio, 10.0)
    weight = n_on / (n_on + shrink) * n_off / (n_off + shrink)
    target = 1.0
    well_seen = (n_on >= POOL_MIN_DAYS) & (n_off >= POOL_MIN_DAYS)
    if pooled and well_seen.any():
        target = float(np.exp(np.median(np.log(np.maximum(ratio[well_seen], 1e-3)))))
    factor = np.clip(target + weight * (ratio - target), 0.0, 10.0)
    # no sale on every one of at least two observed event days: the shop is closed then
    return np.where((n_on >= 2) & (mean_on == 0) & (mean_off > 0), 0.0, factor)


def _event_masks(events, events_h):
    """(history mask, horizon mask, shrink, pooled) per promotion and per holiday name."""
    promo, holiday = events
    promo_h, holiday_h = events_h
    if promo.any() or promo_h.any():
        yield promo, promo_h, EVENT_SHRINK, True
    # each holiday gets its own factor: Christmas may close the shop while Easter Monday lifts sales
    for hid in np.union1d(np.unique(holiday), np.unique(holiday_h)):
        if hid > 0:
            yield holiday == hid, holiday_h == hid, HOLIDAY_SHRINK, False


def predict(y, wd, wd_h, events, events_h, names) -> np.ndarray:
    """Forecasts (models, n, h) of the named models, with event effects removed then re-applied."""
    prof = weekday_profile(y, wd)
    base = y / np.take_along_axis(prof, wd, axis=1)
    adjusted = y.copy()
    uplift = np.ones(wd_h.shape)
    for event, event_h, shrink, pooled in _event_masks(events, events_h):
        f = event_factor(base, event, shrink, pooled)[:, None]
        # A near-zero factor means "closed": those days say nothing about the level.
        adjusted = np.where(event, np.where(f < CLOSED_FACTOR, np.nan, adjusted / np.maximum(f, 1e-9)),
                            adjusted)
        base = np.where(event, np.nan, base)
        uplift = uplift * np.where(event_h, f, 1.0)
    cache: dict = {}
    return np.stack([MODELS[name](adjusted, wd, wd_h, cache) * uplift for name in names])


@dataclass(frozen=True)
class Backtest:
    forecasts: np.ndarray  # (origins, models, n, h)
    actuals: np.ndarray  # (origins, n, h)


def backtest(design: Design, names: list[str], origins: int, horizon: int) -> Backtest:
    """Rolling-origin backtest: ``origins`` cut-offs, each ``horizon`` days before the previous."""
    t_len = design.y.shape[1]
    fcs, acts = [], []
    for i in range(origins, 0, -1):
        origin = t_len - i * horizon
        y, wd, wd_h, ev, ev_h = design.cut(origin, horizon)
        fcs.append(predict(y, wd, wd_h, ev, ev_h, names))
        acts.append(design.y[:, origin:origin + horizon])
    return Backtest(np.stack(fcs), np.stack(acts))


def _score(fc: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """MAE plus |mean error| over origins and days; inf where nothing was observed.

    MAE alone (like WAPE and MASE) is minimised by the median, which is 0 for intermittent demand: the
    bias term stops an all-zero forecast from winning and starving replenishment.
    """
    err = fc - actual
    cnt = (~np.isnan(err)).sum(axis=(0, -1))
    mae = np.nansum(np.abs(err), axis=(0, -1)) / np.maximum(cnt, 1)
    bias = np.abs(np.nansum(err, axis=(0, -1))) / np.maximum(cnt, 1)
    return np.where(cnt > 0, mae + BIAS_WEIGHT * bias, np.inf)


@dataclass(frozen=True)
class Selection:
    choice: np.ndarray  # (n,) index into names + [ensemble]
    members: np.ndarray  # (k, n) model indices averaged by the ensemble
    forecasts: np.ndarray  # (origins, n, h) backtest forecasts of the chosen model


def select(bt: Backtest, names: list[str]) -> Selection:
    """Per series, the model or top-k ensemble with the lowest blended backtest score.

    Scores (see _score) are divided by the series' mean demand (scale-free, like MASE) and blended
    half-half with the group's mean score of the same model: three 28-day windows of noisy daily sales
    are too few to trust a per-series ranking alone. Ties go to the earlier entry in ``names``.
    """
    n = bt.actuals.shape[1]
    level = np.nansum(np.abs(bt.actuals), axis=(0, 2)) / np.maximum((~np.isnan(bt.actuals)).sum(axis=(0, 2)), 1)
    level = np.where(level > 0, level, 1.0)

    def blended(raw: np.ndarray) -> np.ndarray:
        norm = raw / level
        finite = np.isfinite(norm)
        pooled = np.where(finite, norm, 0.0).sum(axis=-1, keepdims=True) / np.maximum(
            finite.sum(axis=-1, keepdims=True), 1)
        return SELF_WEIGHT * norm + (1 - SELF_WEIGHT) * pooled

    per_model = blended(np.stack([_score(bt.forecasts[:, m], bt.actuals) for m in range(len(names))]))
    k = min(ENSEMBLE_SIZE, len(names))
    members = np.argsort(per_model, axis=0, kind="stable")[:k]
    cols = np.arange(n)
    ens = np.mean([bt.forecasts[:, members[j], cols] for j in range(k)], axis=0)
    scores = np.vstack([per_model, blended(_score(ens, bt.actuals))[None, :]]) if k > 1 else per_model
    choice = np.argmin(scores, axis=0)
    chosen = np.where(choice[None, :, None] == len(names), ens,
                      bt.forecasts[:, np.minimum(choice, len(names) - 1), cols])
    return Selection(choice, members, chosen)


def combine(final: np.ndarray, sel: Selection, n_models: int) -> np.ndarray:
    """Final (n, h) forecasts of the chosen entries, given all models' (models, n, h) forecasts."""
    cols = np.arange(final.shape[1])
    ens = final[sel.members, cols[None, :]].mean(axis=0)
    single = final[np.minimum(sel.choice, n_models - 1), cols]
    return np.where((sel.choice == n_models)[:, None], ens, single)
