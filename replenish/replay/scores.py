"""Scores of a replay from a ledger of true stock (never read models): headline figures and per demand class.

No figure is ever NaN: a fill rate or cycle service level over no demand is 1.0 (nothing was asked, nothing
was lost); a mean over no day, and a share over no series, is 0.0.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from replenish.replay.dataset import Key

ADI_CUT, CV2_CUT = 1.32, 0.49  # Syntetos–Boylan
ABC_CUTS = (("A", 0.80), ("B", 0.95))  # cumulative share of history volume, largest first; the rest is C
UNDER = 0.80  # share_under_80: series whose own fill is below this
PATTERNS = ("smooth", "erratic", "intermittent", "lumpy", "none")
_EPS = 1e-9  # served below demand by less than this is float noise, not a lost sale


@dataclass(frozen=True)
class Book:
    """A ledger as arrays of series (rows, sorted by key) × days (columns); a missing row counts as zero."""

    keys: list[Key]
    days: list[date]
    demand: np.ndarray
    served: np.ndarray
    on_hand_end: np.ndarray

    def subset(self, keys: Iterable[Key]) -> Book:
        index = {k: i for i, k in enumerate(self.keys)}
        rows = [index[k] for k in keys if k in index]
        return Book([self.keys[i] for i in rows], self.days, self.demand[rows], self.served[rows],
                    self.on_hand_end[rows])


def book(rows: Iterable[Mapping]) -> Book:
    rows = list(rows)
    keys = sorted({(str(r["sku"]), str(r["location"])) for r in rows})
    days = sorted({r["date"] for r in rows})
    ki, di = {k: i for i, k in enumerate(keys)}, {d: i for i, d in enumerate(days)}
    arrays = {name: np.zeros((len(keys), len(days))) for name in ("demand", "served", "on_hand_end")}
    for r in rows:
        at = ki[(str(r["sku"]), str(r["location"]))], di[r["date"]]
        for name, array in arrays.items():
            array[at] = float(r[name])
    return Book(keys, days, **arrays)


def fill_rate(b: Book) -> float:
    total = float(b.demand.sum())
    return float(b.served.sum()) / total if total > 0 else 1.0


def mean_on_hand(b: Book) -> float:
    """Daily mean of Σ over series of end-of-day on-hand (a stock level, not a per-series average)."""
    return float(b.on_hand_end.sum(axis=0).mean()) if b.days and b.keys else 0.0


def headline(b: Book) -> dict:
    asked = b.demand > 0
    short = b.served < b.demand - _EPS
    return {"fill_rate": fill_rate(b), "mean_on_hand": mean_on_hand(b), "stockout_days": int(short.sum()),
            "cycle_service_level": float((asked & ~short).sum() / asked.sum()) if asked.any() else 1.0,
            "lost_units": float((b.demand - b.served).sum())}


def series_fill(b: Book) -> np.ndarray:
    demand, served = b.demand.sum(axis=1), b.served.sum(axis=1)
    return np.divide(served, demand, out=np.ones_like(demand), where=demand > 0)


def pattern(history: np.ndarray) -> str:
    """Syntetos–Boylan: ADI = days / days with demand; CV² of the non-zero demands (population variance)."""
    nonzero = history[history > 0]
    if not nonzero.size:
        return "none"
    adi = history.size / nonzero.size
    cv2 = float(nonzero.var() / nonzero.mean() ** 2)
    if adi < ADI_CUT:
        return "smooth" if cv2 < CV2_CUT else "erratic"
    return "intermittent" if cv2 < CV2_CUT else "lumpy"


def abc(volumes: Mapping[Key, float]) -> dict[Key, str]:
    """A while the volume before a series (largest first) is under 80 % of the total, B under 95 %, else C;
    so the largest series is always A. Ties are broken by key, so the split is reproducible."""
    total = sum(volumes.values())
    out, before = {}, 0.0
    for key, volume in sorted(volumes.items(), key=lambda kv: (-kv[1], kv[0])):
        share = before / total if total > 0 else 1.0
        out[key] = next((name for name, cut in ABC_CUTS if share < cut), "C")
        before += volume
    return out


def classes(histories: Mapping[Key, np.ndarray], labels: Mapping[Key, str | None] | None = None
            ) -> dict[str, dict[Key, str]]:
    """Each scheme's class per series, from the TRUE history: pattern, abc, and label (the CSV's class)."""
    return {"pattern": {k: pattern(np.asarray(h, dtype=float)) for k, h in histories.items()},
            "abc": abc({k: float(np.sum(h)) for k, h in histories.items()}),
            "label": {k: v for k, v in (labels or {}).items() if v}}


def _leaf(platform: Book, baseline: Book | None) -> dict:
    fills = series_fill(platform)
    return {"series": len(platform.keys), "fill_rate": fill_rate(platform), "mean_on_hand": mean_on_hand(platform),
            "baseline_fill_rate": fill_rate(baseline) if baseline is not None else None,
            "baseline_mean_on_hand": mean_on_hand(baseline) if baseline is not None else None,
            "share_under_80": float((fills < UNDER).mean()) if fills.size else 0.0}


def _order(scheme: str, names: Iterable[str]) -> list[str]:
    rank = {p: i for i, p in enumerate(PATTERNS)} if scheme == "pattern" else {}
    return sorted(set(names), key=lambda n: (rank.get(n, len(rank)), n))


def per_class(platform: Book, baseline: Book | None, schemes: Mapping[str, Mapping[Key, str]]) -> dict:
    """{scheme: {class: {series, fill_rate, mean_on_hand, baseline_fill_rate, baseline_mean_on_hand,
    share_under_80}}}; a scheme without classes (no `class` column) is an empty map."""
    out: dict[str, dict] = {}
    for scheme, of in schemes.items():
        groups: dict[str, list[Key]] = {}
        for key in platform.keys:
            if key in of:
                groups.setdefault(of[key], []).append(key)
        out[scheme] = {name: _leaf(platform.subset(groups[name]),
                                   baseline.subset(groups[name]) if baseline is not None else None)
                       for name in _order(scheme, groups)}
    return out
