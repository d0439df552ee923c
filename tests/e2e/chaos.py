"""What the fault-injection tests of a whole platform share: a world of series with a known ledger, a stream of
sales through the ingest door that outlives any fault (a refused batch is sent again, same ids), a receiver
that counts notifications, and the checks that nothing was lost or doubled."""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx

from shared.runtime.platform import Platform
from tests.e2e.conftest import Client, history, platform_env

SERIES = [(f"store-{n % 2}", f"SKU-C{n}") for n in range(8)]
OPENING = 400  # units on hand per series before the stream; the stream sells at most ~1/3 of it


class Receiver:
    """An HTTP endpoint for notify's json:// receiver: every body it got, in order."""

    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(self.rfile.read(int(self.headers.get("content-length") or 0)).decode())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_port}/alerts"

    def repeats(self) -> dict[str, int]:
        """Bodies received more than once → how many extra times."""
        return {body: n - 1 for body, n in Counter(self.bodies).items() if n > 1}


@contextmanager
def chaos_platform(**env: str) -> Iterator[tuple[Platform, Receiver]]:
    """A platform of its own (data outside pytest's tmp dir, see test_http_doors) with a counting receiver."""
    root = Path(tempfile.mkdtemp(prefix="replenish-chaos-"))
    receiver = Receiver()
    config = root / "config.yaml"
    config.write_text(f"notify:\n  receivers:\n    - name: ops\n      urls: [\"{receiver.url}\"]\n"
                      "  route:\n    receiver: ops\n    group_wait: 0s\n")
    platform = Platform(root / "data", env={**platform_env(), "REPLENISH_CONFIG": str(config), **env})
    try:
        platform.start()
        yield platform, receiver
    finally:
        platform.stop()
        receiver.server.shutdown()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Stream:
    """Sales of one unit per series, `rate` per second, POSTed in batches; a batch the door refuses or drops
    (a killed ingest, an outage) is sent again with the same ids until accepted. `sold` is the ledger."""

    client: Client
    rate: float = 100.0
    batch: int = 20
    sold: Counter = field(default_factory=Counter)
    sent: int = 0
    retries: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.run_id = f"{time.time_ns():x}"

    def start(self) -> Stream:
        self.thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(120)

    def _run(self) -> None:
        n, started = 0, time.monotonic()
        while not self.stop.is_set():
            events = []
            for _ in range(self.batch):
                location, sku = SERIES[n % len(SERIES)]
                events.append({"id": f"chaos-{self.run_id}-{n}", "source": "test/pos", "type": "sale",
                               "time": datetime.now(UTC).isoformat(),
                               "data": {"sku": sku, "location": location, "quantity": 1}})
                n += 1
            self._deliver(events)
            for e in events:
                self.sold[(e["data"]["location"], e["data"]["sku"])] += 1
            self.sent = n
            # Paced on the clock, not by sleeping a fixed time after each batch: the rate holds under load.
            ahead = started + n / self.rate - time.monotonic()
            if ahead > 0:
                self.stop.wait(ahead)

    def _deliver(self, events: list[dict]) -> None:
        while True:
            try:
                r = self.client.call("POST", "ingest", "/v1/events", "ingest", json=events)
                if r.status_code == 200:
                    body = r.json()
                    assert not body["rejected"] and not body["pending"], body
                    return
            except httpx.HTTPError:
                pass
            self.retries += 1
            time.sleep(0.2)  # the door is away (killed, restarting, database down): try again shortly


def seed(client: Client) -> None:
    """Master data, an opening count and two weeks of history for every series (so policy can decide)."""
    for location, sku in SERIES:
        events = history(14, sku=sku, location=location, daily=20, opening=OPENING + 20 * 14)
        events = [dict(e, id=f"{e['id']}-{location}") for e in events]
        r = client.call("POST", "ingest", "/v1/events", "ingest", json=events)
        assert r.status_code == 200 and not r.json()["rejected"], r.text


def positions_right(client: Client, stream: Stream) -> dict | None:
    """Every series' on_hand is the opening minus what the stream sold (None until so)."""
    wrong = {}
    for location, sku in SERIES:
        got = client.get("policy", f"/v1/positions/{location}/{sku}", "planner")
        expected = OPENING - stream.sold[(location, sku)]
        if not got or got["on_hand"] != expected:
            wrong[(location, sku)] = (got or {}).get("on_hand"), expected
    return None if wrong else {"ok": True}


def wait_positions(client: Client, stream: Stream, timeout: float) -> float:
    """Seconds until every position is right; fails with the wrong ones after `timeout`."""
    start = time.monotonic()
    while not positions_right(client, stream):
        if time.monotonic() - start > timeout:
            wrong = {k: v for k, v in ((s, _on_hand(client, s, stream)) for s in SERIES) if v[0] != v[1]}
            raise AssertionError(f"positions still wrong after {timeout:.0f} s (got, expected): {wrong}")
        time.sleep(1)
    return time.monotonic() - start


def _on_hand(client: Client, series: tuple[str, str], stream: Stream) -> tuple:
    got = client.get("policy", f"/v1/positions/{series[0]}/{series[1]}", "planner") or {}
    return got.get("on_hand"), OPENING - stream.sold[series]


async def purchase_order_duplicates(database_url: str, client: Client) -> dict[str, int]:
    """0 doubled and 0 missing when every purchase reorder policy decided is on exactly one PO line: each PO's
    lines are distinct series, and orders indexed exactly the reorders policy recorded (by reorder id)."""
    pos = (client.get("orders", "/v1/purchase-orders?limit=5000", "approver") or {}).get("items", [])
    doubled_lines = sum(len(p["lines"]) - len({(li["sku"], li["location"]) for li in p["lines"]}) for p in pos)
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        decided = set(await conn.fetchval(
            "SELECT coalesce(array_agg(reorder_id), '{}') FROM policy.reorders WHERE kind = 'purchase'"))
        indexed = set(await conn.fetchval("SELECT coalesce(array_agg(reorder_id), '{}') FROM orders.reorder_index"))
    finally:
        await conn.close()
    return {"purchase_orders": len(pos), "doubled_lines": doubled_lines, "reorders": len(decided),
            "not_on_a_po": len(decided - indexed), "unknown_on_a_po": len(indexed - decided)}


def since(start: float) -> str:
    return f"{time.monotonic() - start:.1f} s"


def event_time_days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()
