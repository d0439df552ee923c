"""The whole platform as `replenish up` runs it, driven only through HTTP."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.runtime.platform import Platform
from shared.runtime.ports import free_port
from shared.settings import SERVICES


def platform_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL",
                                                            "REPLENISH_CONFIG")}
    env["REPLENISH_BROKER_PORT"] = str(free_port())
    for service in SERVICES:  # never collide with a platform a developer is running on the defaults
        env[f"REPLENISH_{service.upper()}_PORT"] = str(free_port())
    env["REPLENISH_CONSOLE_PORT"] = str(free_port())
    return env


@pytest.fixture
def platform_factory(tmp_path: Path) -> Iterator[Callable[..., Platform]]:
    started: list[Platform] = []

    def start(data_dir: Path | None = None, **env: str) -> Platform:
        p = Platform(data_dir or tmp_path / "data", env={**platform_env(), **env})
        started.append(p)
        p.start()
        return p

    yield start
    for p in started:
        p.stop()


class Client:
    """Bearer-token HTTP against one platform."""

    def __init__(self, platform: Platform) -> None:
        self.p = platform
        self.http = httpx.Client(timeout=30)

    def call(self, method: str, service: str, path: str, role: str = "admin", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.p.tokens[role]}"} if role else {}
        return self.http.request(method, f"{self.p.services[service]}{path}", headers=headers, **kw)

    def get(self, service: str, path: str, role: str = "admin") -> Any:
        r = self.call("GET", service, path, role)
        return r.json() if r.status_code == 200 else None


def wait_for(check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def history(days: int, *, sku: str = "SKU-1", location: str = "store-1", daily: int = 10,
            opening: int | None = None, now: datetime | None = None) -> list[dict]:
    """Master data, an opening count and `days` of daily sales ending yesterday."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=days + 1)
    at = start.isoformat()
    events = [
        {"id": f"loc-{location}", "source": "test/erp", "type": "location", "time": at,
         "data": {"location": location, "name": location, "kind": "store"}},
        {"id": f"item-{sku}", "source": "test/erp", "type": "item", "time": at,
         "data": {"sku": sku, "name": sku, "base_unit": "each", "unit_conversions": {"case": 12},
                  "aliases": [f"ALIAS-{sku}"], "unit_cost": 2.5, "category": "grocery"}},
        {"id": "sup-SUP-1", "source": "test/erp", "type": "supplier", "time": at,
         "data": {"supplier_id": "SUP-1", "name": "Supplier One"}},
        {"id": f"si-{sku}", "source": "test/erp", "type": "supplier_item", "time": at,
         "data": {"supplier_id": "SUP-1", "sku": sku, "lead_time_days": 7, "moq": 12, "pack_size": 12,
                  "unit_cost": 2.5, "primary": True}},
        {"id": f"count-{location}-{sku}", "source": "test/wms", "type": "stock_count", "time": at,
         "data": {"sku": sku, "location": location,
                  "on_hand": opening if opening is not None else daily * days + 20}},
    ]
    for d in range(days):
        events.append({"id": f"sale-{location}-{sku}-{d}", "source": "test/pos", "type": "sale",
                       "time": (start + timedelta(days=d + 1, hours=12)).isoformat(),
                       "data": {"sku": sku, "location": location, "quantity": daily}})
    return events


from tests.e2e.console_world import console_world  # noqa: E402, F401 — the console tests' shared platform
