"""Synthetic daily demand with known truth: the series kinds the replay's defaults are chosen on (issue 13).

Each series has a kind (smooth, erratic, intermittent, lumpy, promotion, level_shift, trend), a weekly profile
and a TRUE expected demand per day — the mean of the distribution it was drawn from — so forecast bias and
censoring can be measured against truth, not against a noisy sample. Series i is drawn from
default_rng([seed, i]); the kinds are spread by `mix` (exact shares, largest remainder) in an order shuffled
from `seed`, so the same arguments always give the same data.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from replenish.replay.dataset import Dataset, Key, Series
from replenish.replay.scores import PATTERNS, pattern

KINDS = ("smooth", "erratic", "intermittent", "lumpy", "promotion", "level_shift", "trend")
START = date(2023, 1, 2)  # a Monday
CSV_HEADER = "date,sku,location,quantity,promo,class"

Draw = Callable[[np.random.Generator, np.ndarray], np.ndarray]  # (rng, mean per day) → integer demand


@dataclass(frozen=True)
class Truth:
    kind: str
    mean: np.ndarray  # expected demand per day: the generating distribution's mean, promotions included
    params: dict  # what was drawn for the series: level, weekly amplitude, dispersion, uplift, shift, slope


@dataclass(frozen=True)
class SyntheticSeries:
    sku: str
    location: str
    demand: np.ndarray  # int64 ≥ 0, one per day
    promo: np.ndarray  # int8 0/1 per day; only promotion series have ones
    truth: Truth

    @property
    def key(self) -> Key:
        return self.sku, self.location


@dataclass(frozen=True)
class Synthetic:
    days: list[date]
    series: list[SyntheticSeries]
    seed: int

    @property
    def truth(self) -> dict[Key, Truth]:
        return {s.key: s.truth for s in self.series}

    def write_csv(self, path: str | Path) -> Path:
        """The long CSV of docs/contract.md §9, every series on every day (zeros included: no day or series is lost)."""
        path = Path(path)
        iso = [d.isoformat() for d in self.days]
        with path.open("w", encoding="utf-8", newline="") as f:
            f.write(CSV_HEADER + "\n")
            for t, day in enumerate(iso):
                f.writelines(f"{day},{s.sku},{s.location},{int(s.demand[t])},{int(s.promo[t])},{s.truth.kind}\n"
                             for s in self.series)
        return path

    def write_truth(self, path: str | Path) -> Path:
        path = Path(path)
        body = {"seed": self.seed, "start": self.days[0].isoformat(), "days": len(self.days),
                "series": [{"sku": s.sku, "location": s.location, "kind": s.truth.kind, "params": s.truth.params,
                            "mean": np.round(s.truth.mean, 6).tolist()} for s in self.series]}
        path.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
        return path

    def to_dataset(self) -> Dataset:
        """The same data as `dataset.load(write_csv(…))` gives, without the file."""
        series = [Series(s.sku, s.location, s.demand.astype(float), s.promo.astype(float), None, s.truth.kind)
                  for s in self.series]
        return Dataset(list(self.days), sorted(series, key=lambda s: (s.location, s.sku)))


def read_truth(path: str | Path) -> dict[Key, Truth]:
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    return {(s["sku"], s["location"]): Truth(s["kind"], np.array(s["mean"], dtype=float), s["params"])
            for s in body["series"]}


def generate(n_series: int, days: int, *, seed: int = 0, start: date = START, mix: dict[str, float] | None = None,
             location: str = "store-1") -> Synthetic:
    """`n_series` series over `days` calendar days from `start`, kinds spread by `mix` (default: evenly)."""
    if n_series < 1 or days < 1:
        raise ValueError("n_series and days must be ≥ 1")
    kinds = _assign(n_series, mix or dict.fromkeys(KINDS, 1.0), seed)
    dates = [start + timedelta(days=t) for t in range(days)]
    dow = np.array([d.weekday() for d in dates])
    width = max(4, len(str(n_series - 1)))
    series = [_series(kind, np.random.default_rng([seed, i]), dow, f"SKU{i:0{width}d}", location)
              for i, kind in enumerate(kinds)]
    return Synthetic(dates, series, seed)


def _assign(n: int, mix: dict[str, float], seed: int) -> list[str]:
    """Exact shares of `mix` (largest remainder, ties in KINDS order), shuffled reproducibly from `seed`."""
    unknown = set(mix) - set(KINDS)
    if unknown or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"mix: weights ≥ 0 with a positive sum over {', '.join(KINDS)} (got {mix})")
    names = [k for k in KINDS if mix.get(k, 0) > 0]
    exact = np.array([n * mix[k] / sum(mix.values()) for k in names])
    counts = np.floor(exact).astype(int)
    for i in sorted(range(len(names)), key=lambda i: -(exact[i] - counts[i]))[: n - counts.sum()]:
        counts[i] += 1
    kinds = [k for k, c in zip(names, counts, strict=True) for _ in range(c)]
    return [kinds[i] for i in np.random.default_rng(seed).permutation(n)]


def _series(kind: str, rng: np.random.Generator, dow: np.ndarray, sku: str, location: str) -> SyntheticSeries:
    amplitude, peak = float(rng.uniform(0.0, 0.35)), int(rng.integers(7))
    weekly = 1.0 + amplitude * np.cos(2 * np.pi * (dow - peak) / 7)  # mean 1 over any whole week
    mean, promo, draw, params = _KIND[kind](rng, weekly)
    params = {"weekly_amplitude": amplitude, "weekly_peak": peak, **params}
    demand = draw(rng, mean).astype(np.int64)
    return SyntheticSeries(sku, location, demand, promo.astype(np.int8), Truth(kind, mean, params))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _counts(r: float) -> Draw:
    """Negative binomial with size r around each day's mean (gamma–Poisson): variance μ + μ²/r."""
    return lambda rng, mean: rng.poisson(rng.gamma(r, mean / r))


def _occurrences(p: np.ndarray, size: Callable[[np.random.Generator, int], np.ndarray]) -> Draw:
    """Demand on a day with probability p[t], of a size ≥ 1 drawn by `size`."""
    return lambda rng, mean: (rng.random(p.size) < p) * size(rng, p.size)


def _smooth(rng, weekly):
    level, r = _log_uniform(rng, 3.0, 50.0), float(rng.uniform(8.0, 40.0))
    return level * weekly, np.zeros(weekly.size), _counts(r), {"level": level, "dispersion": r}


def _erratic(rng, weekly):
    level, r = _log_uniform(rng, 6.0, 60.0), float(rng.uniform(0.7, 1.3))
    return level * weekly, np.zeros(weekly.size), _counts(r), {"level": level, "dispersion": r}


def _intermittent(rng, weekly):
    p, extra = float(rng.uniform(0.08, 0.5)), float(rng.uniform(0.0, 1.2))
    occurrence = np.minimum(1.0, p * weekly)
    size = 1.0 + extra  # 1 + Poisson(extra): CV² of the sizes ≤ 0.25
    draw = _occurrences(occurrence, lambda g, n: 1 + g.poisson(extra, n))
    return (occurrence * size, np.zeros(weekly.size), draw,
            {"level": p * size, "occurrence": p, "size_mean": size})


def _lumpy(rng, weekly):
    p, size, r = float(rng.uniform(0.03, 0.25)), _log_uniform(rng, 4.0, 40.0), float(rng.uniform(0.4, 1.0))
    occurrence = np.minimum(1.0, p * weekly)
    draw = _occurrences(occurrence, lambda g, n: 1 + g.poisson(g.gamma(r, (size - 1) / r, n)))
    return (occurrence * size, np.zeros(weekly.size), draw,
            {"level": p * size, "occurrence": p, "size_mean": size,
             "size_dispersion": r})


def _base(rng) -> tuple[float, float]:
    """Level and dispersion of the dynamic kinds: smooth-like counts over levels from 1.5 to 50 a day."""
    return _log_uniform(rng, 1.5, 50.0), float(rng.uniform(5.0, 30.0))


def _promotion(rng, weekly):
    level, r = _base(rng)
    uplift, promo = float(rng.uniform(1.5, 3.0)), _promo_runs(rng, weekly.size)
    return (level * weekly * np.where(promo > 0, uplift, 1.0), promo, _counts(r),
            {"level": level, "dispersion": r, "uplift": uplift})


def _promo_runs(rng: np.random.Generator, days: int) -> np.ndarray:
    """Runs of 3–10 promotion days, 14–103 days apart: ~10 % of days (6.5 / (6.5 + 58.5))."""
    promo, t = np.zeros(days), int(rng.integers(0, 60))
    while t < days:
        run = int(rng.integers(3, 11))
        promo[t:t + run] = 1
        t += run + int(rng.integers(14, 104))
    return promo


def _level_shift(rng, weekly):
    level, r = _base(rng)
    day = int(rng.integers(int(0.1 * weekly.size), max(int(0.9 * weekly.size), int(0.1 * weekly.size) + 1)))
    factor = 1.0 + float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.6))
    step = np.where(np.arange(weekly.size) >= day, factor, 1.0)
    return (level * weekly * step, np.zeros(weekly.size), _counts(r),
            {"level": level, "dispersion": r, "shift_day": day, "shift_factor": factor})


def _trend(rng, weekly):
    """A linear trend of ±0.1–0.3 % of the level per day, centred on the middle day (floored at 10 %)."""
    level, r = _base(rng)
    slope = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.001, 0.003))
    t = np.arange(weekly.size) - (weekly.size - 1) / 2
    return (level * weekly * np.maximum(0.1, 1.0 + slope * t), np.zeros(weekly.size), _counts(r),
            {"level": level, "dispersion": r, "slope_per_day": slope})


_KIND = {"smooth": _smooth, "erratic": _erratic, "intermittent": _intermittent, "lumpy": _lumpy,
         "promotion": _promotion, "level_shift": _level_shift, "trend": _trend}


def pattern_shares(syn: Synthetic, window: slice = slice(None)) -> dict[str, dict[str, float]]:
    """Per kind, the share of its series in each Syntetos–Boylan pattern over `window` of its days."""
    out: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        found = [pattern(s.demand[window].astype(float)) for s in syn.series if s.truth.kind == kind]
        if found:
            out[kind] = {p: found.count(p) / len(found) for p in PATTERNS}
    return out
