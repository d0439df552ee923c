"""The history consumer's bulk path leaves daily_demand and series exactly as the per-event handlers do,
on the real PostgreSQL, for randomized runs of sales, returns, counts, adjustments and time-zone changes."""
from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.forecast import models
from services.forecast.handlers import dispatch
from services.forecast.history_batch import apply_batch
from shared.events.envelope import Envelope, make_envelope
from shared.service import ServiceRuntime
from shared.settings import load_settings

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, tzinfo=UTC)
SEEDED_AT = datetime(2020, 1, 1, tzinfo=UTC)  # last_arrival_at of pre-existing rows: kept unless touched
SKUS = ["A", "B", "C", "D"]
# location 0 has master data in UTC+8 (later switched to UTC-7), 1 has none (UTC), 2 an invalid zone (UTC)
ZONES = {0: "Asia/Shanghai", 2: "Mars/Olympus_Mons"}


@pytest.fixture
async def runtime(database_url):
    rt = ServiceRuntime(load_settings("forecast", database_url=database_url,
                                      kafka_bootstrap_servers="127.0.0.1:1"), models.metadata)
    yield rt
    await rt.engine.dispose()


def _scenario(seed: int, n: int) -> list[tuple]:
    """Abstract events (kind, location index, sku, time, amount); rendered per run with its own locations."""
    rnd = random.Random(seed)
    out, clock = [], T0
    for _ in range(n):
        clock += timedelta(minutes=rnd.choice([0, 0, 7, 60, 240, 600]))  # ties in event time too
        at = clock - timedelta(hours=rnd.choice([0, 0, 0, 2, 30]))  # some arrive late, some a day late
        loc, sku, roll = rnd.randrange(3), rnd.choice(SKUS), rnd.random()
        if roll < 0.5:
            out.append(("sale", loc, sku, at, rnd.choice([1, 1, 2, 3, 0.5, 10])))
        elif roll < 0.6:
            sku = rnd.choice([*SKUS, "R"])  # R: an existing series that only sees returns
            out.append(("return", loc, sku, at, rnd.choice([1, 2, 0.5])))
        elif roll < 0.8:  # counts: empty, negative, stocked, sometimes older than the last count
            at -= timedelta(hours=rnd.choice([0, 0, 6, 72]))
            out.append(("stock_count", loc, sku, at, rnd.choice([0, 0, -2, 1, 3, 5, 20])))
        elif roll < 0.97:
            out.append(("stock_adjustment", loc, sku, at, rnd.choice([-3, -1, 2, 5, None])))
        else:
            out.append(("location", 0, "", at, rnd.choice(["America/Los_Angeles", "Asia/Shanghai"])))
    return out


def _render(events: list[tuple], locs: list[str]) -> list[Envelope]:
    out = []
    for kind, i, sku, at, amount in events:
        loc = locs[i]
        if kind == "location":
            data = {"type": "location", "time": at.isoformat(), "data": {"location": loc, "timezone": amount}}
        else:
            data = {"event_id": uuid.uuid4().hex, "source": "t", "type": kind, "sku": sku, "location": loc,
                    "time": at.isoformat()}
            data.update({"sale": {"quantity": amount}, "return": {"quantity": amount},
                         "stock_count": {"on_hand": amount}, "stock_adjustment": {"quantity": amount}}[kind])
        out.append(make_envelope(source="t", type=f"replenish.ingest.{kind}", time=at, data=data))
    return out


async def _seed(rt: ServiceRuntime, locs: list[str]) -> None:
    """Master zones, and for SKU A everywhere an existing series (out of stock since the day before T0) with
    history; SKU B an existing in-stock series whose count is newer than most events; SKU R one out of stock
    that only sees returns (its on_hand moves, it is not made dirty)."""
    async with rt.uow() as uow:
        for i, zone in ZONES.items():
            env = make_envelope(source="t", type="replenish.ingest.location", time=T0, data={
                "type": "location", "time": T0.isoformat(), "data": {"location": locs[i], "timezone": zone}})
            await dispatch(uow, env)
        for loc in locs:
            await uow.session.execute(text(
                "INSERT INTO forecast.series (location, sku, first_day, last_day, last_arrival_at, dirty, "
                "changed_quantity, on_hand, on_hand_at, out_since) VALUES "
                "(:loc, 'A', DATE '2026-01-01', DATE '2026-02-28', :seeded, false, 3, -1, :a_at, DATE '2026-02-28'),"
                "(:loc, 'B', DATE '2026-02-01', DATE '2026-02-28', :seeded, false, 0, 7, :b_at, NULL),"
                "(:loc, 'R', DATE '2026-02-01', DATE '2026-02-28', :seeded, false, 0, 0, :a_at, DATE '2026-02-27')"),
                {"loc": loc, "seeded": SEEDED_AT, "a_at": T0 - timedelta(days=1), "b_at": T0 + timedelta(days=2)})
            await uow.session.execute(text(
                "INSERT INTO forecast.daily_demand (location, sku, day, quantity, stockout) VALUES "
                "(:loc, 'A', DATE '2026-02-28', 4, true), (:loc, 'A', DATE '2026-03-01', 2, false)"), {"loc": loc})


async def _per_event(rt: ServiceRuntime, envs: list[Envelope]) -> None:
    for start in range(0, len(envs), 50):
        async with rt.uow() as uow:
            for env in envs[start:start + 50]:
                await dispatch(uow, env)


async def _batched(rt: ServiceRuntime, envs: list[Envelope], rnd: random.Random) -> None:
    start = 0
    while start < len(envs):
        size = rnd.choice([1, 2, 7, 40, 150])
        async with rt.uow() as uow:
            await apply_batch(uow, envs[start:start + size])
        start += size


async def _tables(rt: ServiceRuntime, locs: list[str]) -> tuple[list, list]:
    index = {loc: i for i, loc in enumerate(locs)}
    async with rt.sessionmaker() as s:
        demand = await s.execute(text(
            "SELECT location, sku, day, quantity, stockout FROM forecast.daily_demand "
            "WHERE location = ANY(:locs)"), {"locs": locs})
        series = await s.execute(text(
            "SELECT location, sku, first_day, last_day, last_arrival_at = :seeded AS kept, dirty, "
            "changed_quantity, forecast_as_of, on_hand, baseline, on_hand_at, out_since FROM forecast.series "
            "WHERE location = ANY(:locs)"), {"locs": locs, "seeded": SEEDED_AT})
        return (sorted((index[r[0]], *r[1:]) for r in demand), sorted((index[r[0]], *r[1:]) for r in series))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_bulk_history_matches_per_event_handlers(runtime, seed):
    events = _scenario(seed, 400)
    tag = f"{seed}-{uuid.uuid4().hex[:6]}"
    one, bulk = [f"E{tag}-{i}" for i in range(3)], [f"B{tag}-{i}" for i in range(3)]
    for locs in (one, bulk):
        await _seed(runtime, locs)
    await _per_event(runtime, _render(events, one))
    await _batched(runtime, _render(events, bulk), random.Random(seed))
    expected, got = await _tables(runtime, one), await _tables(runtime, bulk)
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    demand, series = expected
    assert any(row[4] for row in demand if row[2] > T0.date()), "the scenario never censored a day"
    assert any(row[3] == 0 and row[4] for row in demand), "no zero-demand censored day"
    assert {row[0] for row in series} == {0, 1, 2}
    assert any(row[4] for row in series) and any(not row[4] for row in series)  # kept and touched rows
