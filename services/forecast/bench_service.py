"""Service-level benchmark: one Forecaster round over N seeded series in a real PostgreSQL, phases timed.

    .venv/bin/python -m services.forecast.bench_service --series 10000 --days 730 --workers 2

Seeds `forecast.daily_demand` and `forecast.series` of an embedded PostgreSQL under --data-dir (or the
DATABASE_URL given), then runs claim → load → fit → publish once, as the background task does, and prints
the wall time of each phase. Not a test; it truncates the forecast tables of that database.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sqlalchemy import text

from services.forecast import models
from services.forecast import repository as repo
from services.forecast.scheduler import Forecaster, Round
from services.forecast.settings import ForecastSettings
from shared.db.migrate import available_components, upgrade
from shared.runtime.postgres import EmbeddedPostgres
from shared.service import ServiceRuntime
from shared.settings import load_settings

TABLES = "forecast.daily_demand, forecast.series, forecast.forecasts, forecast.forecast_log, forecast.outbox"


async def seed(runtime: ServiceRuntime, n: int, days: int) -> None:
    """n series over 20 locations, Poisson-like levels 0.5–20/day, rows written day-major as sales arrive."""
    async with runtime.engine.begin() as c:
        await c.execute(text(f"TRUNCATE {TABLES}"))
        await c.execute(text(
            "INSERT INTO forecast.daily_demand SELECT 'L' || (i % 20), 'S' || i, DATE '2025-01-01' + d, "
            "floor(random() * ((i % 7) * 3 + 1) * 2)::float, false "
            "FROM generate_series(0, CAST(:days AS int) - 1) d, generate_series(1, CAST(:n AS int)) i"),
            {"n": n, "days": days})
        await c.execute(text(
            "INSERT INTO forecast.series (location, sku, first_day, last_day, last_arrival_at, dirty) "
            "SELECT 'L' || (i % 20), 'S' || i, DATE '2025-01-01', DATE '2025-01-01' + CAST(:days AS int) - 1, "
            "now() - interval '1 hour', true FROM generate_series(1, CAST(:n AS int)) i"), {"n": n, "days": days})
    async with runtime.engine.connect() as c:  # what autovacuum does for an insert-mostly table
        auto = await c.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("VACUUM ANALYZE forecast.daily_demand"))


async def one_round(runtime: ServiceRuntime, settings: ForecastSettings) -> dict[str, float]:
    forecaster = Forecaster(runtime, settings)
    forecaster.pool = ProcessPoolExecutor(max_workers=settings.workers,
                                          mp_context=multiprocessing.get_context("spawn"))
    await asyncio.gather(*(asyncio.get_running_loop().run_in_executor(forecaster.pool, sum, [1])
                           for _ in range(settings.workers)))  # a running service has its pool warm
    marks = [time.perf_counter()]
    async with runtime.uow() as uow:
        rnd = Round(await repo.claim_due(uow.session, settings.batch_size, 0.0, settings.lease_s))
    marks.append(time.perf_counter())
    async with runtime.sessionmaker() as session:
        await forecaster._load(session, rnd)
    marks.append(time.perf_counter())
    rnd.results = await forecaster._fit(rnd.histories, max(rnd.horizons))
    marks.append(time.perf_counter())
    async with runtime.uow() as uow:
        await forecaster._publish(uow, rnd)
    marks.append(time.perf_counter())
    forecaster.pool.shutdown()
    spans = [b - a for a, b in itertools.pairwise(marks)]
    phases = dict(zip(("claim", "load", "fit", "publish"), spans, strict=True))
    return {"series": len(rnd.claimed), **phases, "total": marks[-1] - marks[0]}


async def run(url: str, args: argparse.Namespace) -> None:
    runtime = ServiceRuntime(load_settings("forecast", database_url=url, kafka_bootstrap_servers="127.0.0.1:1"),
                             models.metadata)
    started = time.perf_counter()
    await seed(runtime, args.series, args.days)
    print(f"seeded {args.series} x {args.days} days in {time.perf_counter() - started:.1f} s")
    settings = ForecastSettings(workers=args.workers, batch_size=args.series, use_prophet=args.use_prophet)
    result = await one_round(runtime, settings)
    print(" ".join(f"{k} {v:.1f}s" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()))
    await runtime.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.forecast.bench_service")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--use-prophet", default="auto")
    parser.add_argument("--data-dir", default="/tmp/replenish-forecast-bench-pg")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.database_url:
        upgrade(args.database_url, available_components())
        asyncio.run(run(args.database_url, args))
        return 0
    pg = EmbeddedPostgres(Path(args.data_dir))
    url = pg.start()
    try:
        upgrade(url, available_components())
        asyncio.run(run(url, args))
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
