"""The replay's input: a daily demand CSV (long or wide) as calendar-complete series, and the window replayed."""
from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

Key = tuple[str, str]  # (sku, location)

LONG_COLUMNS = ("date", "sku", "location", "quantity")
OPENING_DAYS, OPENING_COVER = 28, 14  # §9: ⌈14 × mean demand of the last 28 history days⌉
LAYOUTS = "long date,sku,location,quantity[,promo][,price][,class] or wide DATE,QTY_<sku>[,PROMO_<sku>]"


@dataclass(frozen=True)
class Series:
    sku: str
    location: str
    demand: np.ndarray  # one value per calendar day of the Dataset
    promo: np.ndarray | None = None  # 0/1 per calendar day, when the CSV has a promo column
    price: float | None = None  # mean price over the rows that give one
    label: str | None = None  # the CSV's `class` column

    @property
    def key(self) -> Key:
        return self.sku, self.location


@dataclass(frozen=True)
class Dataset:
    days: list[date]  # every calendar day from the first date to the last
    series: list[Series]  # sorted by (location, sku)


@dataclass(frozen=True)
class Selection:
    history_days: list[date]
    test_days: list[date]
    series: list[Series]  # kept, sorted by (location, sku)
    excluded: list[Key]  # no demand in the history
    opening: dict[Key, float]
    history: dict[Key, np.ndarray]
    test: dict[Key, np.ndarray]
    cut: int = 0  # index of the first test day in Dataset.days (and in every Series' arrays)

    @property
    def keys(self) -> list[Key]:
        return [s.key for s in self.series]


@dataclass
class _Table:
    """Rows as they are read; a day and series given twice is summed (two tills, two rows)."""

    ids: dict[Key, int] = field(default_factory=dict)
    kid: list[int] = field(default_factory=list)
    day: list[int] = field(default_factory=list)
    qty: list[float] = field(default_factory=list)
    promo: list[float] = field(default_factory=list)  # -1: this row says nothing about promotion
    with_promo: set[Key] = field(default_factory=set)
    prices: dict[Key, list[float]] = field(default_factory=dict)
    labels: dict[Key, str] = field(default_factory=dict)

    def add(self, key: Key, day: date, qty: float, promo: float | None = None) -> None:
        self.kid.append(self.ids.setdefault(key, len(self.ids)))
        self.day.append(day.toordinal())
        self.qty.append(qty)
        self.promo.append(-1.0 if promo is None else promo)
        if promo is not None:
            self.with_promo.add(key)

    def build(self, path: Path) -> Dataset:
        if not self.day:
            raise ValueError(f"{path}: no data rows")
        kid, ords = np.array(self.kid), np.array(self.day)
        first = int(ords.min())
        days = [date.fromordinal(first) + timedelta(days=i) for i in range(int(ords.max()) - first + 1)]
        demand = np.zeros((len(self.ids), len(days)))
        np.add.at(demand, (kid, ords - first), np.array(self.qty, dtype=float))
        promo = np.zeros_like(demand)
        np.maximum.at(promo, (kid, ords - first), np.array(self.promo, dtype=float))
        series = [Series(sku, loc, demand[i], promo[i] if (sku, loc) in self.with_promo else None,
                         _mean(self.prices.get((sku, loc))), self.labels.get((sku, loc)))
                  for (sku, loc), i in self.ids.items()]
        return Dataset(days, sorted(series, key=lambda s: (s.location, s.sku)))


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{where}: bad date {text!r} (expected YYYY-MM-DD)") from None


def _number(text: str, where: str, column: str, blank: float | None = None) -> float:
    """A finite number ≥ 0; a blank cell is `blank` where the layout allows it (a wide CSV's empty cell)."""
    if not text:
        if blank is not None:
            return blank
        raise ValueError(f"{where}: {column} is empty")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: {column} {text!r} is not finite")
    if value < 0:
        raise ValueError(f"{where}: {column} {text!r} is negative")
    return value


def _rows(reader, path: Path) -> Iterator[tuple[str, list[str]]]:
    """Non-blank data rows with where they are (file and line), for error messages."""
    for row in reader:
        if any(c.strip() for c in row):
            yield f"{path.name} line {reader.line_num}", row


def _long(path: Path, names: list[str], reader) -> Dataset:
    col = {n: names.index(n) for n in (*LONG_COLUMNS, "promo", "price", "class") if n in names}
    table = _Table()
    for where, row in _rows(reader, path):
        key = (_cell(row, col["sku"]), _cell(row, col["location"]))
        if not all(key):
            raise ValueError(f"{where}: sku and location must not be empty")
        promo = _cell(row, col.get("promo")) if "promo" in col else None
        table.add(key, _day(_cell(row, col["date"]), where), _number(_cell(row, col["quantity"]), where, "quantity"),
                  None if promo is None else float(_number(promo, where, "promo", 0.0) > 0))
        price = _cell(row, col.get("price"))
        if price:
            table.prices.setdefault(key, []).append(_number(price, where, "price"))
        label = _cell(row, col.get("class"))
        if label and key not in table.labels:  # the first class given for a series names it
            table.labels[key] = label
    return table.build(path)


def _wide(path: Path, header: list[str], reader, location: str) -> Dataset:
    names = [h.strip() for h in header]
    di = [n.lower() for n in names].index("date")
    quantities = [(i, n[4:]) for i, n in enumerate(names) if n.upper().startswith("QTY_")]
    skus = [sku for _, sku in quantities]
    if not all(skus) or len(set(skus)) != len(skus):
        raise ValueError(f"{path}: every QTY_<sku> column needs a distinct, non-empty sku")
    promos = {n[6:].upper(): i for i, n in enumerate(names) if n.upper().startswith("PROMO_")}
    table, seen = _Table(), set()
    for where, row in _rows(reader, path):
        day = _day(_cell(row, di), where)
        if day in seen:
            raise ValueError(f"{where}: date {day} repeats (a wide CSV has one row per day)")
        seen.add(day)
        for i, sku in quantities:
            pi = promos.get(sku.upper())
            promo = None if pi is None else float(_number(_cell(row, pi), where, names[pi], 0.0) > 0)
            table.add((sku, location), day, _number(_cell(row, i), where, names[i], 0.0), promo)
    return table.build(path)


def load(path: str | Path, *, location: str = "store-1") -> Dataset:
    """Read a long or wide demand CSV; every calendar day first..last is a day, a day without a row is zero.

    Headers are case-insensitive. In the long layout, rows of the same series and day are summed and an empty
    quantity is an error; in the wide layout (one location, named by `location`) an empty cell is zero.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as f:  # utf-8-sig: spreadsheets prepend a BOM
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise ValueError(f"{path}: empty file; expected a header ({LAYOUTS})")
        names = [h.strip().lower() for h in header]
        if "date" in names and any(n.startswith("qty_") for n in names):
            return _wide(path, header, reader, location)
        missing = [c for c in LONG_COLUMNS if c not in names]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {LAYOUTS}")
        return _long(path, names, reader)


def opening_stock(demand: np.ndarray, cut: int) -> float:
    """⌈14 × mean demand of the 28 days before the test window⌉ (fewer days if the CSV starts later).

    With ≥ 28 history days these are the last 28 history days (§9); the sum is taken in day order and the
    ceiling forgives float noise, as the acceptance's recomputation does, so both agree to the unit.
    """
    window = demand[max(0, cut - OPENING_DAYS):cut].tolist()
    if not window:
        return 0.0
    return float(math.ceil(OPENING_COVER * sum(window) / len(window) - 1e-9))


def _draw(active: list[Series], n: int | None, seed: int) -> list[Series]:
    if n is None or n >= len(active):
        return active
    picked = np.random.default_rng(seed).choice(len(active), size=n, replace=False)
    return [active[i] for i in sorted(picked.tolist())]


def select(ds: Dataset, *, days: int = 182, history: int = 365, series: int | None = None,
           seed: int = 0) -> Selection:
    """The test window (the last `days` days), the `history` days before it (fewer if the CSV is shorter).

    Series without demand in the history are excluded and listed, over the whole CSV. `series=N` then draws
    N of the remaining series (those with history demand) with numpy's default_rng(seed), so N series are
    replayed whenever N exist; the draw is over the canonical (location, sku) order and kept in that order.
    """
    if days < 1 or history < 1 or (series is not None and series < 1):
        raise ValueError("days, history and series must be ≥ 1")
    cut = len(ds.days) - days
    if cut < 1:
        raise ValueError(f"{days} test days leave no history day: the CSV spans {len(ds.days)} days")
    start = max(0, cut - history)
    canonical = sorted(ds.series, key=lambda s: (s.location, s.sku))  # a hand-built Dataset may not be
    has_demand = [bool(s.demand[start:cut].sum() > 0) for s in canonical]
    kept = _draw([s for s, ok in zip(canonical, has_demand, strict=True) if ok], series, seed)
    return Selection(
        history_days=ds.days[start:cut], test_days=ds.days[cut:], series=kept,
        excluded=[s.key for s, ok in zip(canonical, has_demand, strict=True) if not ok],
        opening={s.key: opening_stock(s.demand, cut) for s in kept},
        history={s.key: s.demand[start:cut] for s in kept}, test={s.key: s.demand[cut:] for s in kept}, cut=cut)
