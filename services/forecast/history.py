"""Pure fold of a run of sales and stock events into daily demand and series state, in batch order."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

Key = tuple[str, str]  # (location, sku)
CENSOR_CAP_DAYS = 366  # a year-long gap is not worth a row per day


def zone_of(data: dict | None) -> tzinfo:
    """A location's time zone from its master data; UTC when unknown or invalid."""
    try:
        return ZoneInfo((data or {}).get("timezone") or "UTC")
    except (KeyError, ValueError):
        return UTC


def censored_days(first: date, last: date) -> list[date]:
    """The days a stockout from `first` to `last` censors, newest first, capped to a year."""
    span = min((last - first).days, CENSOR_CAP_DAYS)
    return [last - timedelta(days=i) for i in range(span + 1)]


@dataclass(frozen=True)
class Movement:
    """One sale, return, count or adjustment; `quantity` is the sold/returned amount, the signed
    adjustment or the counted on_hand (None for a count without one)."""

    key: Key
    at: datetime
    kind: str  # "sale" | "return" | "stock_count" | "stock_adjustment"
    quantity: float | None


@dataclass
class SeriesState:
    """The columns of one series row the history consumer writes; `exists` False until a row is made."""

    exists: bool = False
    first_day: date | None = None
    last_day: date | None = None
    changed_quantity: float = 0.0
    on_hand: float | None = None
    on_hand_at: datetime | None = None
    out_since: date | None = None
    touched: bool = False  # dirty and last_arrival_at must be set
    moved: bool = False  # on_hand / on_hand_at / out_since were written


@dataclass
class Fold:
    """What a run adds: demand per (key, local day) with its stockout flag, and the series states."""

    series: dict[Key, SeriesState]
    demand: dict[tuple[str, str, date], float] = field(default_factory=dict)
    stockout: set[tuple[str, str, date]] = field(default_factory=set)
    spans: set[tuple[Key, date, date]] = field(default_factory=set)

    def apply(self, m: Movement, day: date) -> None:
        """One event, as the per-event handlers do it (handlers.on_sale / on_stock)."""
        row = self.series.setdefault(m.key, SeriesState())
        if m.kind == "sale":
            k = (*m.key, day)
            self.demand[k] = self.demand.get(k, 0.0) + m.quantity
            _touch(row, day, m.quantity)
            self._move(row, m.key, day, m.at, -m.quantity)
        elif m.kind == "return":  # returns are not negative demand; they only move stock
            self._move(row, m.key, day, m.at, m.quantity)
        elif m.kind == "stock_count":
            _touch(row, day, 0.0)
            self._move(row, m.key, day, m.at, 0.0, absolute=m.quantity)
        else:
            _touch(row, day, 0.0)
            self._move(row, m.key, day, m.at, m.quantity or 0.0)

    def _move(self, row: SeriesState, key: Key, day: date, at: datetime, delta: float,
              absolute: float | None = None) -> None:
        """A movement older than the last count is already in it; a count older than the last one is stale."""
        if not row.exists or (row.on_hand_at is not None and at < row.on_hand_at):
            return
        on_hand = absolute if absolute is not None else (row.on_hand + delta if row.on_hand is not None else None)
        out_since = row.out_since
        if on_hand is not None and on_hand <= 0:
            out_since = min(out_since or day, day)
            self.spans.add((key, out_since, day))
        elif out_since is not None:  # stock is back: every day since the first out-of-stock one is censored
            self.spans.add((key, out_since, max(day, out_since)))
            out_since = None
        row.on_hand, row.out_since, row.moved = on_hand, out_since, True
        if absolute is not None:
            row.on_hand_at = at

    def finish(self) -> None:
        """Turn the stockout spans into flagged days (a flagged day with no sale is a zero-demand row)."""
        for key, first, last in self.spans:
            for day in censored_days(first, last):
                k = (*key, day)
                self.demand.setdefault(k, 0.0)
                self.stockout.add(k)
        self.spans.clear()


def _touch(row: SeriesState, day: date, changed: float) -> None:
    if not row.exists:
        row.exists, row.first_day, row.last_day = True, day, day
    else:
        row.first_day, row.last_day = min(row.first_day, day), max(row.last_day, day)
    row.changed_quantity += abs(changed)
    row.touched = True
