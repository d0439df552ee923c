"""Shared helpers for the notify core tests: a controllable clock, config from YAML text, alert events."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from services.notify.config import NotifyConfig
from services.notify.config_load import parse_config

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class Clock:
    now: datetime = T0

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def config_from(text: str) -> NotifyConfig:
    return parse_config(yaml.safe_load(textwrap.dedent(text)))


def alert_event(
    type_: str = "stockout_risk", *, severity: str = "warning", status: str = "firing",
    sku: str | None = "SKU-1", location: str | None = "store-12", at: datetime = T0, **extra: Any,
) -> dict[str, Any]:
    key = extra.pop("key", ":".join(p for p in (type_, location, sku) if p))
    return {
        "key": key, "type": type_, "severity": severity, "status": status, "sku": sku, "location": location,
        "summary": extra.pop("summary", f"{sku} at {location} runs out in 2 days"),
        "explanation": extra.pop("explanation", {"on_hand": 4, "days_of_cover": 1.5}),
        "occurred_at": at, "labels": extra.pop("labels", {}), **extra,
    }
