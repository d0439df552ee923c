"""History consumer speed on the real broker and PostgreSQL, per-event dispatch vs the bulk batch handler.

    .venv/bin/python -m services.forecast.bench_history --events 20000 --keys 1000

Publishes a location (UTC+8), one stock count per SKU and `--events` sales once, then lets each mode's own
consumer group read all of it into emptied forecast tables, and prints events/s and this process's CPU per
event from the first processed event to the last (a benchmark, not a test).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text

from services.forecast import models
from services.forecast.consumers import TOPICS, apply_batch, dispatch
from shared.events.envelope import make_envelope
from shared.events.topics import MASTER, SALES, STOCK
from shared.runtime.scratch import scratch_platform
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import load_settings

LOCATION = "store-bench"


def _events(n: int, keys: int) -> list[tuple[str, bytes, bytes]]:
    """(topic, key, envelope): the location, a count of 1e6 per SKU an hour before, then n sales a second apart."""
    t0, run = datetime.now(UTC) - timedelta(days=1), uuid.uuid4().hex[:6]
    loc = {"type": "location", "time": t0.isoformat(), "data": {"location": LOCATION, "timezone": "Asia/Shanghai"}}
    out = [(MASTER, f"location:{LOCATION}", "location", t0, loc)]
    for k in range(keys):
        out.append((STOCK, f"{LOCATION}:B-{k}", "stock_count", t0 - timedelta(hours=1), {
            "event_id": f"count:{run}:{k}", "source": "bench", "type": "stock_count", "sku": f"B-{k}",
            "location": LOCATION, "on_hand": 1e6, "time": (t0 - timedelta(hours=1)).isoformat()}))
    for i in range(n):
        sku, at = f"B-{i % keys}", t0 + timedelta(seconds=i)
        out.append((SALES, f"{LOCATION}:{sku}", "sale", at, {
            "event_id": f"sale:{run}:{i}", "source": "bench", "type": "sale", "sku": sku, "location": LOCATION,
            "quantity": 1.0, "time": at.isoformat()}))
    return [(topic, key.encode(), make_envelope(source="bench", type=f"replenish.ingest.{kind}", time=at,
                                                 data=data).to_bytes()) for topic, key, kind, at, data in out]


async def _publish(kafka: str, events: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    await producer.start()
    try:
        for topic, key, value in events:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def _processed(runtime: ServiceRuntime, consumer: str) -> int:
    async with runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(models.inbox)
                                .where(models.inbox.c.consumer == consumer))).scalar_one()


async def _measure(settings, spec: ConsumerSpec, total: int) -> dict:
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers.append(spec)
    async with runtime.engine.begin() as c:
        await c.execute(text("TRUNCATE forecast.daily_demand, forecast.series"))
    name = f"forecast.{spec.name}"
    await runtime.start()
    try:
        while (first := await _processed(runtime, name)) == 0:
            await asyncio.sleep(0.05)
        wall, cpu = time.perf_counter(), time.process_time()
        while (done := await _processed(runtime, name)) < total:
            await asyncio.sleep(0.1)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await runtime.stop()
    n = done - first
    if n == 0:  # timing starts after the first batch; a small run ends inside it
        raise SystemExit(f"{spec.name}: all {total} events came in the first batch; time more (--events)")
    return {"mode": spec.name, "events": n, "seconds": round(wall, 2), "events_per_s": round(n / wall),
            "cpu_us_per_event": round(cpu * 1e6 / n)}


async def run(kafka: str, url: str, n: int, keys: int) -> list[dict]:
    settings = load_settings("forecast", kafka_bootstrap_servers=kafka, database_url=url,
                             kafka_session_timeout_ms=2000, kafka_heartbeat_ms=500, kafka_fetch_max_wait_ms=10,
                             kafka_fetch_max_wait_background_ms=20, admin_token="bench")
    events = _events(n, keys)
    await _publish(kafka, events)
    return [await _measure(settings, ConsumerSpec("bench_per_event", TOPICS, dispatch), len(events)),
            await _measure(settings, ConsumerSpec("bench_batch", TOPICS, None, batch_handler=apply_batch),
                           len(events))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.forecast.bench_history")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=1_000)
    args = parser.parse_args(argv)
    with scratch_platform("forecast-history-bench-", ["forecast"]) as (kafka, url):
        for row in asyncio.run(run(kafka, url, args.events, args.keys)):
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
