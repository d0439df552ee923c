"""The smoothing recursions of the cheap models, day by day over every series at once (rows = series).

Each runs in one of two forms with the same arithmetic in the same order, so the same result to the bit: a general
one for any input, and, for inputs whose known values are all finite and far from overflow (a smoothed state, once
set, then stays finite), one that leaves out the selects that cannot change a value on that day (every state set,
every series observed). A fit call pays its day loop once per model and backtest origin whatever its number of
series, and those selects were most of that loop's numpy calls (docs/bench-replay.md, "Speed").
"""

from __future__ import annotations

import numpy as np

BURN_IN = 14
PLAIN_MAX = 1e150  # known values below this in size overflow no smoothing step, nor a squared error


def ses(x: np.ndarray, alphas: np.ndarray, with_sse: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """NaN-skipping simple exponential smoothing for each alpha: (final levels, one-step SSE), (A, n); the SSE
    stays 0 without `with_sse`."""
    if not plain(x):
        return _ses_general(x, alphas)
    n_alpha, (n, t_len) = len(alphas), x.shape
    a = alphas[:, None]
    level = np.full((n_alpha, n), np.nan)
    sse = np.zeros((n_alpha, n))
    count = np.cumsum(~np.isnan(x), axis=1)  # observations up to each day
    # a series' error is scored once BURN_IN days were observed before the day
    burnt = np.where(count[:, -1] >= BURN_IN, np.argmax(count >= BURN_IN, axis=1), t_len) if t_len \
        else np.zeros(n, dtype=np.int64)
    values, known, _ = _day_major(x)
    scored = known & (np.arange(t_len)[:, None] > burnt[None, :])
    started = _after_all(known)
    every_known, any_scored, every_scored = rows_all(known), rows_any(scored), rows_all(scored)
    # The same arithmetic as _ses_general, without the selects that cannot change a value on a given day (every
    # level set, every series observed or scored): the per-day numpy calls are what a small fit call pays.
    for t in range(t_len):
        err = values[t] - level
        if with_sse and any_scored[t]:
            sse += err * err if every_scored[t] else np.where(scored[t], err * err, 0.0)
        if started[t]:
            step = level + a * err
            level = step if every_known[t] else np.where(known[t], step, level)
        else:
            level = np.where(known[t], np.where(np.isnan(level), values[t], level + a * err), level)
    return level, sse


def _ses_general(x: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ses for any input, infinities included (a level may turn NaN and restart)."""
    n_alpha, (n, t_len) = len(alphas), x.shape
    a = alphas[:, None]
    level = np.full((n_alpha, n), np.nan)
    sse = np.zeros((n_alpha, n))
    seen = np.zeros(n)
    for t in range(t_len):
        y = x[:, t]
        obs = ~np.isnan(y)
        err = y - level
        scored = obs & (seen >= BURN_IN)
        sse += np.where(scored, err * err, 0.0)
        updated = np.where(np.isnan(level), y, level + a * err)
        level = np.where(obs, updated, level)
        seen += obs
    return level, sse


def plain(x: np.ndarray) -> bool:
    """Every known value finite and far from overflow: a smoothed state, once set, then stays finite."""
    return not bool((np.abs(x) >= PLAIN_MAX).any())


def _day_major(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day-major (contiguous per day) values with unknown days as 0, known days, and days with demand."""
    cols = np.ascontiguousarray(y.T)
    known = ~np.isnan(cols)
    values = np.where(known, cols, 0.0)
    return values, known, known & (values > 0)


def rows_all(mask: np.ndarray) -> np.ndarray:
    """Per day of a day-major mask: every series True (an array, as the type checker needs to know)."""
    return np.asarray(mask.all(axis=1))


def rows_any(mask: np.ndarray) -> np.ndarray:
    """Per day of a day-major mask: some series True."""
    return np.asarray(mask.any(axis=1))


def _after_all(days: np.ndarray) -> np.ndarray:
    """Per day of a day-major mask: True once every series had a True day before it."""
    t_len = days.shape[0]
    if not t_len:
        return np.zeros(0, dtype=bool)
    first = np.where(days.any(axis=0), np.argmax(days, axis=0), t_len)
    return np.arange(t_len) > first.max(initial=-1)


def croston(y: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """Croston's smoothed non-zero size and interval (NaN-skipping: unknown days add nothing to the interval)."""
    if not plain(y):
        return _croston_general(y, a)
    n = y.shape[0]
    size, interval, since = np.full(n, np.nan), np.full(n, np.nan), np.ones(n)
    values, known, hits = _day_major(y)
    any_hit, started = rows_any(hits), _after_all(hits)
    for t in range(y.shape[1]):
        hit = hits[t]
        if any_hit[t]:
            v = values[t]
            if started[t]:
                size = np.where(hit, size + a * (v - size), size)
                interval = np.where(hit, interval + a * (since - interval), interval)
            else:
                size = np.where(hit, np.where(np.isnan(size), v, size + a * (v - size)), size)
                interval = np.where(hit, np.where(np.isnan(interval), since, interval + a * (since - interval)),
                                    interval)
            since = np.where(hit, 1.0, since + known[t])
        else:
            since = since + known[t]
    return size, interval


def _croston_general(y: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """croston for any input, infinities included."""
    n = y.shape[0]
    size = np.full(n, np.nan)
    interval = np.full(n, np.nan)
    since = np.ones(n)
    for t in range(y.shape[1]):
        v = y[:, t]
        obs = ~np.isnan(v)
        hit = obs & (np.where(obs, v, 0.0) > 0)
        size = np.where(hit, np.where(np.isnan(size), v, size + a * (v - size)), size)
        interval = np.where(hit, np.where(np.isnan(interval), since, interval + a * (since - interval)),
                            interval)
        since = np.where(hit, 1.0, np.where(obs, since + 1.0, since))
    return size, interval


def tsb_state(y: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """TSB's smoothed demand probability and non-zero size (α for both)."""
    if not plain(y):
        return _tsb_general(y, a)
    b = a
    n = y.shape[0]
    prob, size = np.full(n, np.nan), np.full(n, np.nan)
    values, known, hits = _day_major(y)
    chance = hits.astype(float)
    every_known, any_hit = rows_all(known), rows_any(hits)
    seen, sized = _after_all(known), _after_all(hits)
    for t in range(y.shape[1]):
        h = chance[t]
        if seen[t]:
            step = prob + a * (h - prob)
            prob = step if every_known[t] else np.where(known[t], step, prob)
        else:
            prob = np.where(known[t], np.where(np.isnan(prob), h, prob + a * (h - prob)), prob)
        if any_hit[t]:
            v, hit = values[t], hits[t]
            if sized[t]:
                size = np.where(hit, size + b * (v - size), size)
            else:
                size = np.where(hit, np.where(np.isnan(size), v, size + b * (v - size)), size)
    return prob, size


def _tsb_general(y: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    """tsb_state for any input, infinities included."""
    b = a
    n = y.shape[0]
    prob = np.full(n, np.nan)
    size = np.full(n, np.nan)
    for t in range(y.shape[1]):
        v = y[:, t]
        obs = ~np.isnan(v)
        hit = (np.where(obs, v, 0.0) > 0).astype(float)
        prob = np.where(obs, np.where(np.isnan(prob), hit, prob + a * (hit - prob)), prob)
        size = np.where(hit > 0, np.where(np.isnan(size), v, size + b * (v - size)), size)
    return prob, size
