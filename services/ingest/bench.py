"""Ingest throughput benchmark: HTTP batches in, canonical sales out, next to the raw aiokafka produce rate."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.bus.admin import ensure_topics
from shared.db.migrate import upgrade
from shared.events.topics import SALES
from shared.runtime.broker import BundledBroker
from shared.runtime.cpu import service_cpu
from shared.runtime.postgres import EmbeddedPostgres

ADMIN = "bench-admin-token"
SKUS, STORES = 500, 20


@dataclass
class Phase:
    name: str
    batch: int
    batches: int
    clients: int
    seconds_accepted: float = 0.0
    seconds_published: float = 0.0
    latencies: tuple[float, ...] = ()
    cpu_seconds: float = 0.0  # CPU the ingest processes spent on this phase (load-independent cost)
    db_cpu_seconds: float = 0.0  # ... PostgreSQL (postmaster and backends)
    broker_cpu_seconds: float = 0.0  # ... the broker

    @property
    def events(self) -> int:
        return self.batch * self.batches

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def master_events(now: datetime) -> list[dict]:
    at = (now - timedelta(days=1)).isoformat()
    items = [{"id": f"item-{s}", "source": "bench/erp", "type": "item", "time": at,
              "data": {"sku": f"SKU-{s:05d}", "name": f"Item {s}", "base_unit": "each",
                       "unit_conversions": {"case": 12}, "aliases": [f"69012{s:08d}"]}} for s in range(SKUS)]
    stores = [{"id": f"loc-{n}", "source": "bench/erp", "type": "location", "time": at,
               "data": {"location": f"store-{n}", "name": f"Store {n}", "kind": "store"}} for n in range(STORES)]
    return items + stores


def sales_batch(run: str, start: int, size: int, now: datetime) -> bytes:
    """Realistic POS lines: barcodes as SKU codes, a few in cases, prices, channels."""
    events = []
    for i in range(start, start + size):
        sku = i * 7919 % SKUS
        data = {"sku": f"69012{sku:08d}" if i % 3 else f"SKU-{sku:05d}", "location": f"store-{i % STORES}",
                "quantity": 1 + i % 4, "unit_price": 3.5 + sku % 20, "channel": "store"}
        if i % 50 == 0:
            data["unit"] = "case"
        events.append({"id": f"{run}-{i}", "source": f"pos/{run}", "type": "sale",
                       "time": (now - timedelta(seconds=i % 3600)).isoformat(), "data": data})
    return json.dumps(events).encode()


async def count_published(kafka: str, run: str, expect: int, timeout: float, ready: asyncio.Event) -> float:
    """Wall time at which `expect` canonical sales of this run had arrived on the sales topic."""
    consumer = AIOKafkaConsumer(SALES, bootstrap_servers=kafka, auto_offset_reset="latest",
                                enable_auto_commit=False, group_id=None, fetch_max_wait_ms=50)
    await consumer.start()
    marker = f'"source":"pos/{run}"'.encode()
    seen, deadline = 0, time.monotonic() + timeout
    try:
        await consumer.seek_to_end()
        ready.set()
        while seen < expect and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200, max_records=10_000)).values():
                seen += sum(1 for r in records if marker in r.value)
    finally:
        await consumer.stop()
    return time.monotonic() if seen >= expect else float("nan")


async def post_all(base: str, token: str, bodies: list[bytes], clients: int) -> list[float]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(timeout=300, headers={"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"}) as http:
            while not queue.empty():
                body = queue.get_nowait()
                began = time.monotonic()
                r = await http.post(f"{base}/v1/events", content=body)
                latencies.append(time.monotonic() - began)
                if r.status_code != 200 or r.json()["rejected"]:
                    raise RuntimeError(f"batch failed: {r.status_code} {r.text[:300]}")

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


@dataclass(frozen=True)
class Pids:
    ingest: int
    postgres: int
    broker: int


def cpu_now(pids: Pids) -> tuple[float, float, float]:
    return service_cpu(pids.ingest), service_cpu(pids.postgres), service_cpu(pids.broker)


async def run_phase(phase: Phase, base: str, token: str, kafka: str, pids: Pids) -> Phase:
    run = f"{phase.name}-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    bodies = [sales_batch(run, b * phase.batch, phase.batch, now) for b in range(phase.batches)]
    ready = asyncio.Event()
    counter = asyncio.create_task(count_published(kafka, run, phase.events, 600, ready))
    await ready.wait()
    began, cpu = time.monotonic(), cpu_now(pids)
    phase.latencies = tuple(await post_all(base, token, bodies, phase.clients))
    phase.seconds_accepted = time.monotonic() - began
    phase.seconds_published = await counter - began
    phase.cpu_seconds, phase.db_cpu_seconds, phase.broker_cpu_seconds = (
        after - before for after, before in zip(cpu_now(pids), cpu, strict=True))
    return phase


async def raw_rate(kafka: str, bodies: list[bytes]) -> float:
    """aiokafka send() pipelined, acks=all, one process: the same event payloads into the same broker."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 6, 1)])
    await admin.close()
    messages = [(json.dumps(e).encode(), f"{e['data']['location']}:{e['data']['sku']}".encode())
                for body in bodies for e in json.loads(body)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    await producer.start()
    try:
        began = time.monotonic()
        futures = [await producer.send(topic, value=v, key=k) for v, k in messages]
        await asyncio.gather(*futures)
        return len(messages) / (time.monotonic() - began)
    finally:
        await producer.stop()


def start_service(kafka: str, database: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    """The ingest app under uvicorn (httptools, uvloop), as `replenish serve ingest` runs it."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database,
           "REPLENISH_ADMIN_TOKEN": ADMIN, "REPLENISH_PORT": str(port), "REPLENISH_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "uvicorn", "services.ingest.app:create_app", "--factory", "--host",
               "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
               "--no-access-log"]
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


async def wait_ready(base: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{base}/readyz")).status_code == 200:
                    r = await http.post(f"{base}/v1/tokens", json={"name": "bench", "role": "ingest"},
                                        headers={"Authorization": f"Bearer {ADMIN}"})
                    return r.json()["token"]
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("ingest did not become ready")


async def idle_cpu(pids: Pids, seconds: float = 3.0) -> float:
    """Share of a core the ingest process burns with nothing to do (consumer polls, timers)."""
    before = service_cpu(pids.ingest)
    await asyncio.sleep(seconds)
    return (service_cpu(pids.ingest) - before) / seconds


async def measure(base: str, kafka: str, phases: list[Phase], pids: Pids) -> tuple[list[Phase], float, float]:
    token = await wait_ready(base)
    async with httpx.AsyncClient(timeout=120, headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.post(f"{base}/v1/events", json=master_events(datetime.now(UTC)))
        assert r.status_code == 200 and not r.json()["rejected"], r.text[:300]
    await run_phase(Phase("warmup", 1000, 4, 2), base, token, kafka, pids)
    idle = await idle_cpu(pids)
    done = [await run_phase(p, base, token, kafka, pids) for p in phases]
    now = datetime.now(UTC)
    raw = await raw_rate(kafka, [sales_batch("raw", b * 1000, 1000, now) for b in range(100)])
    return done, raw, idle


def report(phases: list[Phase], raw: float, idle: float, workers: int) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"machine: {os.cpu_count()} cores, load average {load}; ingest: {workers} uvicorn worker(s)",
             f"raw aiokafka send() pipelined, acks=all: {raw:,.0f} msg/s",
             f"ingest idle: {idle:.1%} of a core"]
    for p in phases:
        accepted, published = p.events / p.seconds_accepted, p.events / p.seconds_published
        lines.append(f"{p.name}: {p.events:,} events in {p.batches} batches of {p.batch:,}, {p.clients} clients: "
                     f"accepted {accepted:,.0f} ev/s, published {published:,.0f} ev/s "
                     f"({published / raw:.0%} of raw); batch latency p50 {p.p(0.5) * 1000:.0f} ms, "
                     f"p99 {p.p(0.99) * 1000:.0f} ms; CPU per event: ingest {p.cpu_seconds / p.events * 1e6:.0f} µs, "
                     f"PostgreSQL {p.db_cpu_seconds / p.events * 1e6:.0f} µs, "
                     f"broker {p.broker_cpu_seconds / p.events * 1e6:.0f} µs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.ingest.bench", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="events per phase (default 100,000)")
    parser.add_argument("--clients", type=int, default=3, help="concurrent HTTP clients (default 3)")
    parser.add_argument("--port", type=int, default=18431)
    # Production runs several ingest replicas behind a Service; two worker processes are that on 2 cores.
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    broker, pg = BundledBroker(root / "broker.log"), EmbeddedPostgres(root / "pg")
    kafka, database = broker.start(), pg.start()
    service = None
    try:
        asyncio.run(ensure_topics(kafka, 6))
        upgrade(database, ["auth", "ingest"])
        service = start_service(kafka, database, args.port, args.workers, root / "ingest.log")
        phases = [Phase("1k", 1000, max(1, args.events // 1000), args.clients),
                  Phase("10k", 10_000, max(1, args.events // 10_000), args.clients)]
        postmaster = int((root / "pg" / "postmaster.pid").read_text().split()[0])
        pids = Pids(service.pid, postmaster, broker.proc.pid if broker.proc else -1)
        done, raw, idle = asyncio.run(measure(f"http://127.0.0.1:{args.port}", kafka, phases, pids))
        print(report(done, raw, idle, args.workers))
        return 0
    finally:
        if service is not None:
            service.terminate()
            service.wait(30)
        broker.stop()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
