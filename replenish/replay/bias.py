"""Censoring measured: how far the demand policy planned with was from the demand the world really had.

For each decision day d and key, policy protects a period of T days after d with a daily mean (the protection
mean ÷ T, promotions included). Summed over the test window, and set against the TRUE demand of those same
periods (what customers asked for, lost sales included, which the platform never sees), the ratio − 1 is the
bias a censored history leaves in the decisions: negative when stockouts taught the forecast too little demand.
Days whose protection period runs past the test window are left out (their truth is not known).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Key = tuple[str, str]
RESAMPLES = 400  # bootstrap over series for a class's interval
MIN_SERIES = 20  # a class this large is judged on its point estimate; smaller ones are shown with the interval


def period_sums(used: np.ndarray, periods: np.ndarray, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per key, Σ over judged days of the daily mean used and of the true daily mean over the same period.

    `used` and `periods` are keys × test days (NaN where the key was not judged that day); `demand` keys × test days
    of true demand."""
    n, days = demand.shape
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(demand, axis=1)], axis=1)
    planned, true = np.zeros(n), np.zeros(n)
    for j in range(days):
        t = np.maximum(np.rint(np.nan_to_num(periods[:, j], nan=0.0)), 1).astype(np.int64)
        ok = np.isfinite(used[:, j]) & np.isfinite(periods[:, j]) & (j + t < days)
        if not ok.any():
            continue
        end = np.minimum(j + 1 + t, days)
        rows = np.flatnonzero(ok)
        planned[rows] += used[rows, j]
        true[rows] += (cum[rows, end[rows]] - cum[rows, j + 1]) / t[rows]
    return planned, true


def _ratio(planned: np.ndarray, true: np.ndarray) -> float | None:
    total = float(true.sum())
    return float(planned.sum()) / total - 1.0 if total > 0 else None


def by_class(keys: Sequence[Key], planned: np.ndarray, true: np.ndarray,
             schemes: Mapping[str, Mapping[Key, str]], seed: int = 0) -> dict:
    """{"all": {...}, scheme: {class: {series, bias, low, high, judged}}}: bias = Σ planned ÷ Σ true − 1, with a
    5–95 % bootstrap interval over the class's series; `judged` says whether the class is large enough to be held
    to a target on its point estimate."""
    rng = np.random.default_rng(seed)

    def leaf(rows: np.ndarray) -> dict:
        p, t = planned[rows], true[rows]
        draws = [_ratio(p[s], t[s]) for s in (rng.integers(0, len(rows), len(rows)) for _ in range(RESAMPLES))]
        draws = np.array([d for d in draws if d is not None])
        low, high = (float(np.quantile(draws, 0.05)), float(np.quantile(draws, 0.95))) if draws.size else (None, None)
        return {"series": len(rows), "bias": _ratio(p, t), "low": low, "high": high,
                "judged": bool(len(rows) >= MIN_SERIES)}

    out: dict = {"all": leaf(np.arange(len(keys)))}
    for scheme, of in schemes.items():
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key in of:
                groups.setdefault(of[key], []).append(i)
        out[scheme] = {name: leaf(np.array(rows)) for name, rows in sorted(groups.items())}
    return out
