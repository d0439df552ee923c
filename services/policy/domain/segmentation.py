"""ABC (by value), XYZ (by variability) and ADI/CV² demand classes, with per-class service levels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Syntetos-Boylan cut-offs between smooth, erratic, intermittent and lumpy demand
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


@dataclass(frozen=True)
class SegmentDefaults:
    """Configurable default service levels by ABC class, optionally adjusted by XYZ class."""

    abc_cutoffs: tuple[float, float] = (0.80, 0.95)
    xyz_cutoffs: tuple[float, float] = (0.5, 1.0)
    service_levels: dict[str, float] = field(default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90})
    xyz_adjust: dict[str, float] = field(default_factory=dict)

    def service_level(self, abc: str, xyz: str | None = None) -> float:
        level = self.service_levels[abc] + self.xyz_adjust.get(xyz or "", 0.0)
        return float(np.clip(level, 0.5, 0.999))


def abc_classes(annual_value, cutoffs: tuple[float, float] = (0.80, 0.95)) -> np.ndarray:
    """'A' for the items making the first 80 % of value (largest first), 'B' to 95 %, 'C' the rest."""
    value = np.asarray(annual_value, dtype=float)
    order = np.argsort(-value, kind="stable")
    total = value.sum()
    # share of value accumulated *before* each item, so the item crossing a cut-off stays in the upper class
    before = np.concatenate([[0.0], np.cumsum(value[order])[:-1]]) / (total if total > 0 else 1.0)
    ranked = np.where(before < cutoffs[0], "A", np.where(before < cutoffs[1], "B", "C"))
    out = np.empty(len(value), dtype="<U1")
    out[order] = ranked
    return out


def xyz_classes(daily_demand: np.ndarray, cutoffs: tuple[float, float] = (0.5, 1.0)) -> np.ndarray:
    """'X' when the coefficient of variation of demand (rows = days) is ≤ 0.5, 'Y' ≤ 1.0, else 'Z'."""
    d = np.asarray(daily_demand, dtype=float)
    mean = d.mean(axis=0)
    cv = np.where(mean > 0, d.std(axis=0) / np.where(mean > 0, mean, 1.0), np.inf)
    return np.where(cv <= cutoffs[0], "X", np.where(cv <= cutoffs[1], "Y", "Z"))


def demand_pattern(daily_demand: np.ndarray) -> np.ndarray:
    """smooth | erratic | intermittent | lumpy from the average demand interval and CV² of non-zero sizes."""
    d = np.asarray(daily_demand, dtype=float)
    nonzero = d > 0
    count = nonzero.sum(axis=0)
    adi = np.where(count > 0, d.shape[0] / np.maximum(count, 1), np.inf)
    sizes_mean = np.where(count > 0, (d * nonzero).sum(axis=0) / np.maximum(count, 1), 0.0)
    spread = (np.square(d - sizes_mean) * nonzero).sum(axis=0)
    sizes_var = np.where(count > 1, spread / np.maximum(count, 1), 0.0)
    cv2 = np.where(sizes_mean > 0, sizes_var / np.maximum(sizes_mean, 1e-12) ** 2, 0.0)
    frequent = adi < ADI_CUTOFF
    steady = cv2 < CV2_CUTOFF
    sparse = np.where(steady, "intermittent", "lumpy")
    return np.where(frequent, np.where(steady, "smooth", "erratic"), sparse)
