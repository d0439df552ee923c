"""The walking skeleton through `replenish up`: sale → forecast → policy → PO and alert, only over HTTP."""
from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.runtime.ports import port_open
from tests.e2e.conftest import Client, history, wait_for

pytestmark = pytest.mark.e2e


def _leftovers(data_dir: Path, ports: list[int]) -> list[str]:
    left = [f"port {p}" for p in ports if port_open(p)]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(data_dir) in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                left.append(f"pid {cmdline.parent.name}")
        except OSError:
            continue
    return left


def test_skeleton_from_sales_to_purchase_order_and_alert(platform_factory, tmp_path):
    p = platform_factory(tmp_path / "skeleton")
    c = Client(p)
    assert all(c.http.get(f"{url}/readyz").status_code == 200 for url in p.services.values())
    events = history(28)
    first = c.call("POST", "ingest", "/v1/events", "ingest", json=events).json()
    assert first["accepted"] == len(events) and first["rejected"] == []
    again = c.call("POST", "ingest", "/v1/events", "ingest", json=events).json()
    assert again["accepted"] == 0 and again["duplicates"] == len(events)
    now = datetime.now(UTC).isoformat()
    mixed = [{"id": "bad-1", "source": "test/pos", "type": "sale", "time": now,
              "data": {"sku": "SKU-1", "location": "store-1", "quantity": -3}},
             {"id": "ret-1", "source": "test/pos", "type": "return", "time": now,
              "data": {"sku": "ALIAS-SKU-1", "location": "store-1", "quantity": 1}}]
    body = c.call("POST", "ingest", "/v1/events", "ingest", json=mixed).json()
    assert body["accepted"] == 1 and [r["index"] for r in body["rejected"]] == [0]
    assert "data.quantity" in body["rejected"][0]["errors"][0]
    assert c.call("POST", "ingest", "/v1/events", "ingest", content=b"{nope").status_code == 400
    assert c.call("POST", "ingest", "/v1/events", None, json=[]).status_code == 401
    assert c.call("POST", "ingest", "/v1/events", "planner", json=[]).status_code == 403

    position = wait_for(lambda: (lambda b: b if b and b["on_hand"] == 21 else None)(
        c.get("policy", "/v1/positions/store-1/SKU-1")), 60)
    assert position, c.get("policy", "/v1/positions/store-1/SKU-1")
    assert position["reorder_point"] >= 7 * 9  # about ten a day over a seven-day lead time
    orders = wait_for(lambda: [po for po in (c.get("orders", "/v1/purchase-orders?supplier_id=SUP-1") or {})
                               .get("items", []) if any(ln["sku"] == "SKU-1" for ln in po["lines"])], 90)
    assert orders and all(ln["quantity"] % 12 == 0 for ln in orders[0]["lines"])
    alerts = wait_for(lambda: [a for a in (c.get("notify", "/v1/alerts?sku=SKU-1") or {}).get("items", [])], 90)
    assert alerts and alerts[0]["key"].endswith(":store-1:SKU-1")

    ports = [int(u.rsplit(":", 1)[1]) for u in p.services.values()] + [int(p.kafka.rsplit(":", 1)[1])]
    p.stop()
    assert wait_for(lambda: not _leftovers(p.data_dir, ports), 10), _leftovers(p.data_dir, ports)


def test_unclean_stop_loses_nothing_in_flight(platform_factory, tmp_path):
    """kill -9 mid-stream: the next start on a fresh broker republishes the outbox tail; inboxes dedupe."""
    data = tmp_path / "crash"
    p = platform_factory(data)
    c = Client(p)
    assert c.call("POST", "ingest", "/v1/events", "ingest", json=history(28)).status_code == 200
    for proc in [*p.procs.values(), p.broker.proc]:  # no drain, no checkpoint: as if the machine died
        os.kill(proc.pid, signal.SIGKILL)
    p.procs.clear()
    p.broker = None
    p.stop()  # only the database is stopped cleanly here
    q = platform_factory(data)
    c = Client(q)
    position = wait_for(lambda: (lambda b: b if b and b["on_hand"] == 20 else None)(
        c.get("policy", "/v1/positions/store-1/SKU-1")), 90)
    assert position, c.get("policy", "/v1/positions/store-1/SKU-1")
    orders = wait_for(lambda: (c.get("orders", "/v1/purchase-orders") or {}).get("items"), 90)
    assert orders and len(orders) == 1
