"""The replay's true world: lead-time draws and the lost-sales shelf whose ledger is what gets scored."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from statistics import NormalDist

from replenish.replay.dataset import Key

LEDGER_COLUMNS = ("date", "sku", "location", "demand", "served", "on_hand_end", "ordered", "received")
_NORMAL = NormalDist()


def _z(seed: int, sku: str, location: str, day: date) -> float:
    """A standard normal fixed by (seed, series, day): a keyed hash, not Python's per-process `hash()`.

    A hash and the inverse normal CDF cost ~1 µs; a numpy Generator per draw costs ~16 µs, which the baseline
    (series × days draws) would feel.
    """
    digest = hashlib.blake2b(f"{seed}|{sku}|{location}|{day.isoformat()}".encode(), digest_size=8).digest()
    u = ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2.0**53  # 53 bits: strictly inside (0, 1)
    return _NORMAL.inv_cdf(u)


def lead_draw(seed: int, sku: str, location: str, day: date, lead: float, std: float) -> int:
    """Lᵢ = max(1, round(L + σ·z)) for an order of `sku` at `location` placed on `day` (§9)."""
    if std <= 0:
        return max(1, round(lead))
    return max(1, round(lead + std * _z(seed, sku, location, day)))


class Shelf:
    """True on-hand per series under lost sales: demand beyond the shelf is gone, never backordered.

    Per day: `receive` the receipts due at the start of the day, then `serve` the day's demand; the row's
    on_hand_end is the on-hand after the last of them. `record_order` adds the platform's orders of a day once
    they are known (after the day's decisions).
    """

    def __init__(self, opening: Mapping[Key, float]) -> None:
        self._on_hand = {key: float(v) for key, v in opening.items()}
        self._rows: dict[tuple[Key, date], dict] = {}

    def on_hand(self, key: Key) -> float:
        return self._on_hand[key]

    def _row(self, key: Key, day: date) -> dict:
        if key not in self._on_hand:
            raise KeyError(f"{key[1]}:{key[0]} is not a series of this shelf")
        row = self._rows.get((key, day))
        if row is None:
            row = {"date": day, "sku": key[0], "location": key[1], "demand": 0.0, "served": 0.0,
                   "on_hand_end": self._on_hand[key], "ordered": 0.0, "received": 0.0}
            self._rows[(key, day)] = row
        return row

    def receive(self, key: Key, qty: float, day: date) -> None:
        if qty < 0:
            raise ValueError(f"a receipt of {qty} is negative")
        row = self._row(key, day)
        self._on_hand[key] += qty
        row["received"] += qty
        row["on_hand_end"] = self._on_hand[key]

    def serve(self, key: Key, demand: float, day: date) -> float:
        """Sell min(demand, on-hand); the rest is lost. Returns what was served."""
        if demand < 0:
            raise ValueError(f"a demand of {demand} is negative")
        row = self._row(key, day)
        served = min(demand, max(self._on_hand[key], 0.0))
        self._on_hand[key] -= served
        row["demand"] += demand
        row["served"] += served
        row["on_hand_end"] = self._on_hand[key]
        return served

    def record_order(self, key: Key, day: date, qty: float) -> None:
        self._row(key, day)["ordered"] += qty

    def day(self, day: date, demand: Mapping[Key, float], receipts: Mapping[Key, float] | None = None
            ) -> dict[Key, float]:
        """One whole day for every series: receipts first, then demand (0 where none). Returns served."""
        for key, qty in (receipts or {}).items():
            self.receive(key, qty, day)
        return {key: self.serve(key, float(demand.get(key, 0.0)), day) for key in self._on_hand}

    def ledger(self) -> list[dict]:
        """Rows {date, sku, location, demand, served, on_hand_end, ordered, received}, by sku, location, date."""
        return [dict(row) for _, row in sorted(self._rows.items(), key=lambda kv: (kv[0][0], kv[0][1]))]
