"""Read a wide daily demand CSV (DATE + one column per SKU, optional PROMO_ flags) onto a calendar."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

PROMO_PREFIX = "PROMO_"
QTY_PREFIX = "QTY_"


@dataclass(frozen=True)
class DemandTable:
    """Demand per calendar day (rows) and SKU (columns); days absent from the file have no demand."""

    start: date
    skus: tuple[str, ...]
    demand: np.ndarray
    promo: np.ndarray | None

    @property
    def days(self) -> int:
        return self.demand.shape[0]

    def weekdays(self) -> np.ndarray:
        return (np.arange(self.days) + self.start.weekday()) % 7

    def select(self, count: int | None) -> DemandTable:
        if count is None or count >= len(self.skus):
            return self
        promo = None if self.promo is None else self.promo[:, :count]
        return DemandTable(self.start, self.skus[:count], self.demand[:, :count], promo)


def _sku_name(column: str) -> str:
    return column[len(QTY_PREFIX):] if column.startswith(QTY_PREFIX) else column


def read_wide_csv(path: Path) -> DemandTable:
    """Read the file; see parse_wide_rows."""
    with Path(path).open(newline="") as handle:
        return parse_wide_rows(list(csv.reader(handle)))


def parse_wide_rows(rows: list[list[str]]) -> DemandTable:
    """Parse rows; a PROMO_<x> column flags promotions of the SKU column QTY_<x> (or <x>)."""
    header, body = rows[0], [r for r in rows[1:] if r]
    date_col = next(i for i, h in enumerate(header) if h.strip().upper() == "DATE")
    qty_cols = [i for i, h in enumerate(header) if i != date_col and not h.startswith(PROMO_PREFIX)]
    skus = tuple(_sku_name(header[i]) for i in qty_cols)
    promo_of = {
        _sku_name(h[len(PROMO_PREFIX):]): i for i, h in enumerate(header) if h.startswith(PROMO_PREFIX)
    }
    days = [date.fromisoformat(r[date_col].strip()[:10]) for r in body]
    start = min(days)
    n_days = (max(days) - start).days + 1
    offsets = np.array([(d - start).days for d in days])
    values = np.array([[float(r[i] or 0) for i in qty_cols] for r in body])
    demand = np.zeros((n_days, len(skus)))
    demand[offsets] = np.maximum(values, 0.0)
    promo = None
    if promo_of:
        flags = np.array([[float(r[promo_of[s]] or 0) if s in promo_of else 0.0 for s in skus] for r in body])
        promo = np.zeros((n_days, len(skus)), dtype=bool)
        promo[offsets] = flags > 0
    return DemandTable(start, skus, demand, promo)


def day(table: DemandTable, index: int) -> date:
    return table.start + timedelta(days=index)
