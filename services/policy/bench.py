"""Policy consumer and decider speed on the real broker and PostgreSQL (a benchmark, not a test)."""
from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from services.policy import decider, models
from services.policy.app import policy_consumers
from services.policy.settings import policy_settings
from shared.events.envelope import make_envelope
from shared.events.topics import SALES
from shared.runtime.scratch import scratch_platform
from shared.service import ServiceRuntime
from shared.settings import load_settings


def _sales(run: str, n: int, keys: int) -> list[tuple[bytes, bytes]]:
    """n canonical sale envelopes spread over `keys` SKUs of one store, a second apart in event time."""
    t0 = datetime.now(UTC) - timedelta(days=1)
    out = []
    for i in range(n):
        sku, at = f"B-{run}-{i % keys}", t0 + timedelta(seconds=i)
        data = {"event_id": f"bench:{run}:{i}", "source": "bench", "type": "sale", "sku": sku,
                "location": "store-bench", "quantity": 1.0, "time": at.isoformat()}
        env = make_envelope(source="bench", type="replenish.ingest.sale", time=at, data=data)
        out.append((f"store-bench:{sku}".encode(), env.to_bytes()))
    return out


async def _processed(runtime: ServiceRuntime, consumer: str) -> int:
    async with runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(models.inbox)
                                .where(models.inbox.c.consumer == consumer))).scalar_one()


async def _consumer_rate(runtime: ServiceRuntime, kafka: str, n: int, keys: int) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    await producer.start()
    before = await _processed(runtime, "policy.events")
    started = time.perf_counter()
    for key, value in _sales(uuid.uuid4().hex[:6], n, keys):
        await producer.send(SALES, value, key=key)
    await producer.flush()
    published = time.perf_counter() - started
    while await _processed(runtime, "policy.events") < before + n:
        await asyncio.sleep(0.05)
    took = time.perf_counter() - started
    await producer.stop()
    return {"events": n, "keys": keys, "publish_s": round(published, 2), "seconds": round(took, 2),
            "events_per_s": round(n / took)}


async def _decide_cost(runtime: ServiceRuntime) -> dict:
    async with runtime.sessionmaker() as s:
        dirty = (await s.execute(select(func.count()).select_from(models.stock)
                                 .where(models.stock.c.dirty_at.is_not(None)))).scalar_one()
    started = time.perf_counter()
    done = await decider.decide_dirty(runtime.uow, limit=policy_settings().decide_batch)
    took = time.perf_counter() - started
    return {"dirty": dirty, "decided": done, "seconds": round(took, 2),
            "ms_per_key": round(took * 1000 / max(done, 1), 2)}


async def run(kafka: str, url: str, n: int, keys: int) -> dict:
    settings = load_settings("policy", kafka_bootstrap_servers=kafka, database_url=url,
                             kafka_session_timeout_ms=2000, kafka_heartbeat_ms=500, kafka_fetch_max_wait_ms=10,
                             kafka_fetch_max_wait_background_ms=20,
                             admin_token="bench")
    runtime = ServiceRuntime(settings, models.metadata)
    runtime.consumers += policy_consumers()
    await runtime.start()
    try:
        await _consumer_rate(runtime, kafka, 200, 20)  # warm-up: group join, first statements
        await _decide_cost(runtime)
        consume = await _consumer_rate(runtime, kafka, n, keys)
        decide = await _decide_cost(runtime)
    finally:
        await runtime.stop()
    return {"consumer": consume, "decider": decide}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.policy.bench")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=1_000)
    args = parser.parse_args(argv)
    with scratch_platform("policy-bench-", ["policy"]) as (kafka, url):
        print(json.dumps(asyncio.run(run(kafka, url, args.events, args.keys))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
