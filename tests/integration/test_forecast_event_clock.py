"""Forecast under REPLENISH_CLOCK=event on the real broker and PostgreSQL: a replay-like history a year ago on the
sales and stock topics, ingest's day_closed markers on every partition; forecasts as of each closed day use no
later event, carry a forecast marker per partition, move decided_through, and do not depend on the order in
which the events were consumed."""
from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select, text

from services.forecast import models
from services.forecast.closing import forecast_decided_through
from services.forecast.consumers import history_consumer
from services.forecast.day_close import DayCloser
from services.forecast.scheduler import Forecaster
from services.forecast.settings import ForecastSettings
from shared.events.envelope import Envelope, make_envelope
from shared.events.markers import DAY_CLOSED, day_end, last_decided
from shared.events.topics import DEMAND, MASTER, PROMOTIONS, SALES, STOCK
from shared.service import ServiceRuntime

pytestmark = pytest.mark.integration
TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
FIRST = datetime.now(UTC).date() - timedelta(days=365)  # a year in the past
DAYS, OPEN = 45, 30  # days of history; markers for the first OPEN days only, the rest later
SKUS = {"A": (9.0, 60, 70), "B": (4.0, 25, 28), "C": (1.5, 8, 11)}  # mean demand, opening stock, weekly receipt
ANNOUNCED = 33  # a promotion of A (days 40-44) announced on this day, after the first OPEN days


@dataclass(frozen=True)
class Ev:
    topic: str
    kind: str
    sku: str
    at: datetime
    quantity: float
    ref: str

    @property
    def day(self) -> int:
        return (self.at.astimezone(ZONE).date() - FIRST).days


def local(day: int, hour: int) -> datetime:
    return datetime.combine(FIRST + timedelta(days=day), time(hour), tzinfo=ZONE)


def replay_world() -> list[Ev]:
    """docs/contract.md §9's days: a count before the history, 06:00 receipts, 12:00 sales of min(demand, on-hand)
    (unserved demand is lost), every 7th day a count at 22:00. SKU C runs out now and then."""
    rng = np.random.default_rng(11)
    out, on_hand = [], {}
    for sku, (_, opening, _) in SKUS.items():
        out.append(Ev(STOCK, "stock_count", sku, local(-1, 23), opening, f"open-{sku}"))
        on_hand[sku] = opening
    for d in range(DAYS):
        for sku, (mean, _, receipt) in SKUS.items():
            if d % 7 == 3:
                on_hand[sku] += receipt
                out.append(Ev(STOCK, "stock_adjustment", sku, local(d, 6), receipt, f"r-{sku}-{d}"))
            sold = min(int(rng.poisson(mean * (1.4 if d % 7 in (5, 6) else 1.0))), on_hand[sku])
            on_hand[sku] -= sold
            if sold:
                out.append(Ev(SALES, "sale", sku, local(d, 12), sold, f"s-{sku}-{d}"))
            if d % 7 == 6:
                out.append(Ev(STOCK, "stock_count", sku, local(d, 22), on_hand[sku], f"c-{sku}-{d}"))
    return out


class Feed:
    """Publishes the world for one location as ingest would: events keyed `<location>:<sku>`, then per closed
    day its marker on every partition of the sales and stock topics."""

    def __init__(self, producer: AIOKafkaProducer, location: str) -> None:
        self.producer, self.location = producer, location

    async def master(self) -> None:
        data = {"type": "location", "time": local(-2, 0).isoformat(),
                "data": {"location": self.location, "name": "S", "kind": "store", "timezone": TZ}}
        env = make_envelope(source="replenish/ingest", type="replenish.ingest.location", time=local(-2, 0), data=data)
        await self.producer.send_and_wait(MASTER, env.to_bytes(), key=f"location:{self.location}".encode())

    async def promotion(self) -> None:
        """Consumed at once, although announced on day ANNOUNCED: forecasts as of earlier days ignore it. An
        older announcement of the same promotion arriving after it changes nothing."""
        for day, end in ((ANNOUNCED, 44), (ANNOUNCED - 20, 50)):
            data = {"sku": "A", "location": self.location, "start": (FIRST + timedelta(days=40)).isoformat(),
                    "end": (FIRST + timedelta(days=end)).isoformat(), "expected_uplift": 2.0}
            env = make_envelope(source="replenish/ingest", type="replenish.ingest.promotion", time=local(day, 9),
                                data=data)
            await self.producer.send_and_wait(PROMOTIONS, env.to_bytes(), key=f"{self.location}:A".encode())

    async def event(self, ev: Ev) -> None:
        data = {"event_id": ev.ref, "source": "pos", "type": ev.kind, "sku": ev.sku, "location": self.location,
                "time": ev.at.isoformat(),
                ("on_hand" if ev.kind == "stock_count" else "quantity"): ev.quantity}
        if ev.kind == "stock_adjustment":
            data["reason"] = "receipt"
        env = make_envelope(source="replenish/ingest", type=f"replenish.ingest.{ev.kind}", time=ev.at, data=data)
        await self.producer.send(ev.topic, env.to_bytes(), key=f"{self.location}:{ev.sku}".encode())

    async def close(self, topic: str, day: int, reverse: bool = False) -> None:
        n = len(await self.producer.partitions_for(topic))
        base = uuid.uuid4().hex
        for p in sorted(range(n), reverse=reverse):
            data = {"stream": "ingest", "location": self.location, "date": (FIRST + timedelta(days=day)).isoformat(),
                    "partition": p, "partitions": n}
            env = make_envelope(source="replenish/ingest", type=DAY_CLOSED, id=f"{base}:p{p}", data=data,
                                time=day_end(FIRST + timedelta(days=day), TZ))
            await self.producer.send(topic, env.to_bytes(), partition=p)

    async def in_order(self, world: list[Ev], days: range, closed: range) -> None:
        """Day by day: the day's sales, its stock events, then its markers (for the days in `closed`)."""
        for d in days:
            for ev in sorted((e for e in world if e.day == d), key=lambda e: (e.topic != SALES, e.at)):
                await self.event(ev)
            if d in closed:
                await self.close(SALES, d)
                await self.close(STOCK, d)

    async def topic_by_topic(self, world: list[Ev], days: range, closed: range, seed: int) -> None:
        """The whole stock stream first, then the sales stream; each day's events shuffled: as far from
        in_order as the partitions allow (a marker still follows its day on its partition)."""
        rnd = random.Random(seed)
        for topic in (STOCK, SALES):
            for d in days:
                todays = [e for e in world if e.day == d and e.topic == topic]
                rnd.shuffle(todays)
                for ev in todays:
                    await self.event(ev)
                if d in closed:
                    await self.close(topic, d, reverse=True)


async def _poll(fn, timeout: float):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if found := await fn():
            return found
        await asyncio.sleep(0.2)
    return None


async def _published(kafka: str, locations: set[str]) -> list[tuple[int, Envelope]]:
    consumer = AIOKafkaConsumer(DEMAND, bootstrap_servers=kafka, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    out, idle = [], 0
    try:
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=300)
            idle = 0 if batch else idle + 1
            for records in batch.values():
                for r in records:
                    env = Envelope.from_bytes(r.value)
                    if env.data.get("location") in locations:
                        out.append((r.partition, env))
    finally:
        await consumer.stop()
    return out


def _forecasts(published: list[tuple[int, Envelope]], location: str) -> dict[tuple[str, str], bytes]:
    """(sku, as_of) → the payload without its location, as canonical JSON bytes."""
    out = {}
    for _, env in published:
        if env.type == "replenish.forecast.demand" and env.data["location"] == location:
            key = (env.data["sku"], env.data["as_of"])
            assert key not in out, f"forecast {key} published twice"
            assert env.time == day_end(date.fromisoformat(env.data["as_of"]), TZ) - timedelta(microseconds=1)
            out[key] = orjson.dumps({k: v for k, v in env.data.items() if k != "location"},
                                    option=orjson.OPT_SORT_KEYS)
    return out


def _marker_days(published: list[tuple[int, Envelope]], location: str, partitions: int) -> set[str]:
    """Days with forecast's marker for the location on every partition of the demand topic."""
    seen: dict[str, set[int]] = {}
    for partition, env in published:
        if env.type == DAY_CLOSED and env.data["location"] == location and env.data["stream"] == "forecast":
            assert env.data["partition"] == partition and env.data["partitions"] == partitions
            seen.setdefault(env.data["date"], set()).add(partition)
    return {d for d, parts in seen.items() if parts == set(range(partitions))}


async def test_event_clock_forecasts_closed_days_from_their_own_events_in_any_order(kafka, settings_for):
    runtime = ServiceRuntime(settings_for("forecast"), models.metadata, decided_through=forecast_decided_through)
    runtime.consumers.append(history_consumer(event_clock=True))
    settings = ForecastSettings(poll_s=0.2, workers=2, day_chunk=2, use_prophet="never", refit_days=7)
    closer = DayCloser(Forecaster(runtime, settings))
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    tag = uuid.uuid4().hex[:6]
    ref, ahead, shuffled = (f"ev-{tag}-{x}" for x in ("ref", "ahead", "shuf"))
    world = replay_world()
    await runtime.start()
    await producer.start()
    stop = asyncio.Event()
    task = None
    try:
        feeds = {loc: Feed(producer, loc) for loc in (ref, ahead, shuffled)}
        for feed in feeds.values():
            await feed.master()
        lead = make_envelope(source="replenish/ingest", type="replenish.ingest.supplier_item", time=local(-2, 0), data={
            "type": "supplier_item", "time": local(-2, 0).isoformat(),
            "data": {"supplier_id": f"sup-{tag}", "sku": "A", "lead_time_days": 80}})
        await producer.send_and_wait(MASTER, lead.to_bytes(), key=f"supplier_item:sup-{tag}:A".encode())
        assert await _poll(lambda: _known(runtime, set(feeds)), 20)
        # ref: only the days up to OPEN. ahead/shuffled: every day, but only the first OPEN days closed
        await feeds[ref].in_order(world, range(-1, OPEN), closed=range(-1, OPEN))
        await feeds[ahead].promotion()
        await feeds[shuffled].promotion()
        await feeds[ahead].in_order(world, range(-1, DAYS), closed=range(-1, OPEN))
        await feeds[shuffled].topic_by_topic(world, range(-1, DAYS), closed=range(-1, OPEN), seed=3)
        await producer.flush()
        last = {ref: OPEN - 1, ahead: DAYS - 1, shuffled: DAYS - 1}
        assert await _poll(lambda: _consumed(runtime, last), 60), "history not consumed"

        # every later event is stored before forecast closes a single day
        task = asyncio.create_task(closer.run(runtime, stop))
        open_through = FIRST + timedelta(days=OPEN - 1)
        assert await _poll(lambda: _decided(runtime, set(feeds), open_through), 90), "days not closed"
        assert await forecast_decided_through(runtime) == day_end(open_through, TZ)
        await asyncio.sleep(1.0)  # nothing closes beyond the markers, although later sales are stored
        assert {await _last(runtime, loc) for loc in feeds} == {open_through}

        published = await _published(kafka, set(feeds))
        n = len(await producer.partitions_for(DEMAND))
        expected_days = {(FIRST + timedelta(days=d)).isoformat() for d in range(-1, OPEN)}
        base = _forecasts(published, ref)
        as_of_days = sorted({d for _, d in base})
        assert len(as_of_days) >= 5 and set(as_of_days) <= expected_days
        assert {sku for sku, _ in base} == set(SKUS)
        horizons = {sku: len(orjson.loads(body)["horizon"]) for (sku, _), body in base.items()}
        assert horizons == {"A": 80 + 7 + 28, "B": 90, "C": 90}  # A's supplier lead time + review + 4 weeks
        for loc in (ahead, shuffled):  # later sales were stored, yet as of each day nothing after it counts
            assert _forecasts(published, loc) == base
        for loc in feeds:
            assert _marker_days(published, loc, n) == expected_days

        for loc in (ahead, shuffled):  # now close the rest: the two orders still agree byte for byte
            for d in range(OPEN, DAYS):
                await feeds[loc].close(SALES, d)
                await feeds[loc].close(STOCK, d)
        await producer.flush()
        end = FIRST + timedelta(days=DAYS - 1)
        assert await _poll(lambda: _decided(runtime, {ahead, shuffled}, end), 90)
        published = await _published(kafka, set(feeds))
        full = _forecasts(published, ahead)
        assert full == _forecasts(published, shuffled) and len(full) > len(base)
        assert {d for _, d in full} >= {(FIRST + timedelta(days=d)).isoformat() for d in range(-1, DAYS, 7)}
        announced = (FIRST + timedelta(days=ANNOUNCED)).isoformat()  # off the weekly cadence: due when announced
        assert ("A", announced) in full and ("B", announced) not in full
        assert _marker_days(published, shuffled, n) == {(FIRST + timedelta(days=d)).isoformat()
                                                        for d in range(-1, DAYS)}
        async with runtime.sessionmaker() as s:
            promo = (await s.execute(select(models.promotions).where(models.promotions.c.location == ahead))).one()
        assert promo.end == FIRST + timedelta(days=44) and promo.announced_at == local(ANNOUNCED, 9)
        censored = await _stockouts(runtime, ahead)
        assert censored and censored == await _stockouts(runtime, shuffled)
    finally:
        stop.set()
        if task:
            await asyncio.wait_for(task, 20)
        await producer.stop()
        await runtime.stop(grace_s=5)


async def _known(runtime: ServiceRuntime, locations: set[str]) -> bool:
    async with runtime.sessionmaker() as s:
        rows = await s.execute(select(models.master.c.key).where(models.master.c.type == "location",
                                                                  models.master.c.key.in_(locations)))
        return {r.key for r in rows} == locations


async def _consumed(runtime: ServiceRuntime, last: dict[str, int]) -> bool:
    """Every location's last event day is stored, and every staged movement (sales and stock) has arrived."""
    async with runtime.sessionmaker() as s:
        rows = {r.location: r for r in await s.execute(select(models.location_clock).where(
            models.location_clock.c.location.in_(set(last))))}
        staged = dict((await s.execute(text(
            "SELECT location, count(*) FROM forecast.stock_moves WHERE location = ANY(:l) GROUP BY location"),
            {"l": list(last)})).all())
    world = replay_world()
    want = {loc: sum(1 for e in world if e.day <= d) for loc, d in last.items()}
    return all(loc in rows and rows[loc].last_day == FIRST + timedelta(days=d) and rows[loc].punctuated
               for loc, d in last.items()) and staged == want


async def _last(runtime: ServiceRuntime, location: str) -> date | None:
    async with runtime.sessionmaker() as s:
        return await last_decided(s, models.decided_days, location)


async def _decided(runtime: ServiceRuntime, locations: set[str], through: date) -> bool:
    return all([await _last(runtime, loc) == through for loc in locations])


async def _stockouts(runtime: ServiceRuntime, location: str) -> list[tuple[str, date]]:
    async with runtime.sessionmaker() as s:
        rows = await s.execute(select(models.daily_demand.c.sku, models.daily_demand.c.day).where(
            models.daily_demand.c.location == location, models.daily_demand.c.stockout).order_by(
            models.daily_demand.c.sku, models.daily_demand.c.day))
        return [tuple(r) for r in rows]
