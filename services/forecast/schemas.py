"""Forecast's response models (typed OpenAPI): the §4 forecast and the override answer."""
from __future__ import annotations

from typing import Any

from shared.http.schemas import Open


class HorizonPoint(Open):
    """One day ahead; `promo` is true on a day the forecast lifted for a known promotion."""

    date: str
    mean: float
    p10: float | None = None
    p50: float | None = None
    p90: float | None = None


class Forecast(Open):
    """docs/contract.md §4: the daily horizon and the accuracy in use (live once enough days are scored)."""

    sku: str
    location: str
    model: str | None = None
    demand_class: str | None = None
    as_of: str | None = None
    generated_at: str | None = None
    horizon: list[HorizonPoint] = []
    accuracy: dict[str, Any] = {}


class Override(Open):
    id: int
    location: str
    sku: str
    created_by: str
