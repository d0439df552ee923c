"""Event-clock benchmark: a replay's history posted at once, timed until forecast's decided_through reaches its
last day.

    .venv/bin/python -m services.forecast.bench_event --series 20 --days 365 --workers 1 [--country DE]

Starts the bundled broker and an embedded PostgreSQL under --data-dir (removed first), runs forecast's history
consumer and DayCloser as `replenish up` would with REPLENISH_CLOCK=event, then publishes what ingest would for
docs/contract.md §9's history phase: per series a stock count before the history, then per day one sale per series and
the day's `day_closed` marker on every partition of the sales and stock topics. Prints the time to post, the
time until decided_through reaches the end of the last day, and how many forecasts were published.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from services.forecast import metrics, models
from services.forecast.closing import forecast_decided_through
from services.forecast.consumers import history_consumer
from services.forecast.day_close import DayCloser
from services.forecast.scheduler import Forecaster
from services.forecast.settings import ForecastSettings
from shared.bus.admin import ensure_topics
from shared.db.migrate import available_components, upgrade
from shared.events.envelope import make_envelope
from shared.events.markers import DAY_CLOSED, day_end
from shared.events.topics import MASTER, SALES, STOCK
from shared.runtime.broker import BundledBroker
from shared.runtime.postgres import EmbeddedPostgres
from shared.service import ServiceRuntime
from shared.settings import load_settings

LOCATION = "bench-store"


async def post(producer: AIOKafkaProducer, series: int, days: int, first: date, country: str | None) -> None:
    rng = np.random.default_rng(0)
    levels = rng.uniform(0.5, 20.0, series)
    demand = rng.poisson(levels[:, None] * (1 + 0.3 * (np.arange(days) % 7 >= 5)), (series, days))

    async def send(topic: str, type_: str, key: str | None, data: dict, at: datetime, partition=None) -> None:
        env = make_envelope(source="replenish/ingest", type=type_, time=at, data=data)
        await producer.send(topic, env.to_bytes(), key=key.encode() if key else None, partition=partition)

    loc = {"location": LOCATION, "name": "B", "kind": "store", "timezone": "UTC", **({"country": country} or {})}
    await send(MASTER, "replenish.ingest.location", f"location:{LOCATION}",
               {"type": "location", "time": "2000-01-01T00:00:00+00:00", "data": loc}, datetime(2000, 1, 1, tzinfo=UTC))
    await producer.flush()
    await asyncio.sleep(2)  # the location's time zone before its events
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    for i in range(series):
        await send(STOCK, "replenish.ingest.stock_count", f"{LOCATION}:S{i}", {
            "event_id": f"open-{i}", "source": "bench", "type": "stock_count", "sku": f"S{i}", "location": LOCATION,
            "on_hand": float(demand[i].sum() + 1), "time": (start - timedelta(hours=1)).isoformat()},
            start - timedelta(hours=1))
    counts = {t: len(await producer.partitions_for(t)) for t in (SALES, STOCK)}
    for d in range(days):
        at = start + timedelta(days=d, hours=12)
        for i in range(series):
            if demand[i, d] > 0:
                await send(SALES, "replenish.ingest.sale", f"{LOCATION}:S{i}", {
                    "event_id": f"s-{i}-{d}", "source": "bench", "type": "sale", "sku": f"S{i}",
                    "location": LOCATION, "quantity": float(demand[i, d]), "time": at.isoformat()}, at)
        day = first + timedelta(days=d)
        for topic, n in counts.items():
            for p in range(n):
                await send(topic, DAY_CLOSED, None, {"stream": "ingest", "location": LOCATION, "date": day.isoformat(),
                                                     "partition": p, "partitions": n}, day_end(day, "UTC"), p)
    await producer.flush()


async def run(kafka: str, url: str, args: argparse.Namespace) -> None:
    settings = load_settings("forecast", kafka_bootstrap_servers=kafka, database_url=url)
    runtime = ServiceRuntime(settings, models.metadata, decided_through=forecast_decided_through)
    runtime.consumers.append(history_consumer(event_clock=True))
    closer = DayCloser(Forecaster(runtime, ForecastSettings(workers=args.workers, use_prophet=args.use_prophet)))
    runtime.tasks.append(closer.run)
    await runtime.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    await producer.start()
    first = datetime.now(UTC).date() - timedelta(days=args.days + 1)
    target = day_end(first + timedelta(days=args.days - 1), "UTC")
    try:
        started = time.perf_counter()
        await post(producer, args.series, args.days, first, args.country)
        posted = time.perf_counter() - started
        consumed = None
        while (through := await forecast_decided_through(runtime)) is None or through < target:
            if consumed is None and await _consumed(runtime, target.date() - timedelta(days=1)):
                consumed = time.perf_counter() - started
            await asyncio.sleep(0.2)
        total = time.perf_counter() - started
        published = {tuple(s.labels.values()): s.value for m in metrics.FORECASTS.collect() for s in m.samples
                     if s.name.endswith("_total")}
        by_model: dict[str, float] = {}
        for (model, _), n in published.items():
            by_model[model] = by_model.get(model, 0) + n
        print(f"{args.series} series x {args.days} days, workers {args.workers}, country {args.country}: posted in "
              f"{posted:.1f} s, consumed after {consumed or total:.1f} s, decided_through reached the last day after "
              f"{total:.1f} s; forecasts published by model {dict(sorted(by_model.items()))}; "
              f"digest {await _digest(runtime)}")
    finally:
        await producer.stop()
        await runtime.stop(grace_s=5)


async def _digest(runtime: ServiceRuntime) -> str:
    """SHA-256 of the stored forecasts and forecast logs: equal across runs and worker counts."""
    async with runtime.engine.connect() as c:
        rows = (await c.execute(text(
            "SELECT sku, as_of, payload::text FROM forecast.forecasts UNION ALL "
            "SELECT sku, as_of, means::text FROM forecast.forecast_log ORDER BY 1, 2, 3"))).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


async def _consumed(runtime: ServiceRuntime, last: date) -> bool:
    async with runtime.engine.connect() as c:
        row = (await c.execute(text("SELECT last_day FROM forecast.location_clock WHERE location = :l"),
                               {"l": LOCATION})).first()
    return row is not None and row.last_day is not None and row.last_day >= last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.forecast.bench_event")
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--country", default=None, help="the location's country: holidays make Prophet a candidate")
    parser.add_argument("--use-prophet", default="auto")
    parser.add_argument("--data-dir", default="/tmp/replenish-forecast-bench-event")
    args = parser.parse_args(argv)
    root = Path(args.data_dir)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    broker, pg = BundledBroker(root / "broker.log"), EmbeddedPostgres(root / "pg")
    kafka = broker.start()
    try:
        url = pg.start()
        try:
            asyncio.run(ensure_topics(kafka, 4))
            upgrade(url, available_components())
            asyncio.run(run(kafka, url, args))
        finally:
            pg.stop()
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
