"""The latency benchmark's instruments: a broker tap for record times and a webhook receiver."""
from __future__ import annotations

import asyncio
import http.server
import re
import threading
import time

from aiokafka import AIOKafkaConsumer

from shared.events.envelope import Envelope
from shared.events.topics import POLICY_ALERTS, STOCK


class Tap:
    """Broker record times of each probe's event (stock count or sale) and of its first `stockout_risk` fire
    after it."""

    def __init__(self, kafka: str, probe_topic: str = STOCK) -> None:
        self.kafka = kafka
        self.probe_topic = probe_topic
        self.stock: dict[str, float] = {}
        self.fired: dict[str, list[float]] = {}  # every stockout_risk fire: a poll may bring it before the probe

    @property
    def alert(self) -> dict[str, float]:
        """Each probe's first `stockout_risk` fire at or after its event's record."""
        first = {sku: min((t for t in self.fired.get(sku, ()) if t >= at), default=None)
                 for sku, at in self.stock.items()}
        return {sku: t for sku, t in first.items() if t is not None}

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(self.probe_topic, POLICY_ALERTS, bootstrap_servers=self.kafka, group_id=None,
                                    # times come from record timestamps, so a slow poll costs the
                                    # measurement nothing, while a fast one loads the cores it measures
                                    auto_offset_reset="latest", fetch_max_wait_ms=200)
        await consumer.start()
        try:
            while not stop.is_set():
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    for r in records:
                        self._see(r)
        finally:
            await consumer.stop()

    def _see(self, record) -> None:
        if record.topic != POLICY_ALERTS and not (record.key or b"").startswith(b"store-b:"):
            return  # a background sale: not worth decoding
        env = Envelope.from_bytes(record.value)
        sku, at = env.data.get("sku") or "", record.timestamp / 1000
        if not sku.startswith("PROBE-"):
            return
        if record.topic == self.probe_topic and env.data.get("event_id", "").startswith("c1-"):
            self.stock.setdefault(sku, at)
        elif (record.topic == POLICY_ALERTS and env.data.get("type") == "stockout_risk"
              and env.data.get("status") == "firing"):
            self.fired.setdefault(sku, []).append(at)


class Receiver:
    """Records the arrival time of every alert key mentioned in a webhook body."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.posts = 0
        self.bodies: list[str] = []  # kept for reading when a probe never arrives
        self.armed: set[str] = set()  # probes whose stock count has been posted
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode(errors="replace")
                now = time.time()  # wall clock: compared with broker record times
                outer.posts += 1
                outer.bodies.append(body)
                if "stockout_risk" in body:  # setup may raise other alerts (overstock) for the same probe
                    # the JSON body arrives as an escaped string inside Apprise's envelope: match the name itself
                    for sku in set(re.findall(r"PROBE-\d+", body)):
                        if sku in outer.armed:
                            outer.arrivals.setdefault(sku, now)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
