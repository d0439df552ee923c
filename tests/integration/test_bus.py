"""The shared plumbing on the real broker and PostgreSQL: outbox relay, inbox dedupe, DLQ, offset commits."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text

from shared.bus.consumer import ConsumerLoop
from shared.db.engine import make_engine, make_sessionmaker
from shared.db.outbox import OutboxRelay
from shared.db.tables import plumbing_tables
from shared.db.uow import UnitOfWork
from shared.events.envelope import make_envelope

pytestmark = pytest.mark.integration


def _schema() -> tuple[MetaData, Table]:
    metadata = MetaData(schema=f"bus_{uuid.uuid4().hex[:8]}")
    plumbing_tables(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("event_id", String(100)))
    return metadata, effects


@pytest.fixture
async def db(database_url):
    metadata, effects = _schema()
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{metadata.schema}"'))
        await conn.run_sync(metadata.create_all)
    yield engine, metadata, effects
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{metadata.schema}" CASCADE'))
    await engine.dispose()


async def _topic(kafka: str, partitions: int = 1) -> str:
    name = f"test.bus.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    await admin.create_topics([NewTopic(name, partitions, 1), NewTopic(f"{name}.dlq", 1, 1)])
    await admin.close()
    return name


def _uow(engine, metadata, wake=None) -> UnitOfWork:
    s = metadata.schema
    return UnitOfWork(make_sessionmaker(engine), metadata.tables[f"{s}.outbox"], metadata.tables[f"{s}.inbox"],
                      source="test", on_commit=wake)


async def _read_all(kafka: str, topic: str, expect: int, timeout: float = 15) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    got, deadline = [], asyncio.get_running_loop().time() + timeout
    try:
        while len(got) < expect and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(records)
    finally:
        await consumer.stop()
    return got


async def test_outbox_relay_publishes_committed_rows_in_order_and_marks_them(kafka, db, settings_for):
    engine, metadata, _ = db
    topic = await _topic(kafka)
    async with _uow(engine, metadata) as uow:
        for i in range(50):
            await uow.publish(topic, key="store-1:SKU-1", type="t", time=datetime.now(UTC), data={"n": i})
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    outbox = metadata.tables[f"{metadata.schema}.outbox"]
    relay = OutboxRelay(engine, outbox, producer, wake=asyncio.Event(), service="test")
    assert await relay.publish_batch() == 50
    assert await relay.publish_batch() == 0
    await producer.stop()
    records = await _read_all(kafka, topic, 50)
    assert [json.loads(r.value)["data"]["n"] for r in records] == list(range(50))
    async with engine.connect() as conn:
        unpublished = (await conn.execute(select(outbox).where(outbox.c.published_at.is_(None)))).all()
    assert unpublished == []


async def test_batched_outbox_rows_keep_each_keys_order_among_single_rows(kafka, db):
    engine, metadata, _ = db
    topic = await _topic(kafka, partitions=4)
    keys = [f"store-{k}:SKU-{k}" for k in range(10)]
    messages = [(topic, keys[n % 10], json.dumps({"data": {"n": n}}).encode()) for n in range(3, 303)]
    async with _uow(engine, metadata) as uow:
        for n in range(3):  # single rows first, then one batch row, then single rows again
            await uow.publish(topic, key=keys[n], type="t", time=datetime.now(UTC), data={"n": n})
        await uow.publish_batch(messages)
        await uow.publish(topic, key=keys[3], type="t", time=datetime.now(UTC), data={"n": 303})
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    outbox = metadata.tables[f"{metadata.schema}.outbox"]
    relay = OutboxRelay(engine, outbox, producer, wake=asyncio.Event(), service="test", max_messages=150)
    sent = [await relay.publish_batch() for _ in range(4)]
    await producer.stop()
    assert sent == [3, 300, 1, 0]  # the batch row rides alone (it is over max_messages) but whole
    records = await _read_all(kafka, topic, 304)
    by_key: dict[bytes, list[int]] = {}
    for r in records:
        by_key.setdefault(r.key, []).append(json.loads(r.value)["data"]["n"])
    assert sum(len(v) for v in by_key.values()) == 304
    assert by_key[keys[3].encode()] == [*range(3, 303, 10), 303]
    assert all(ns == sorted(ns) for ns in by_key.values())
    assert len({r.partition for r in records}) > 1
    async with engine.connect() as conn:
        unpublished = (await conn.execute(select(outbox).where(outbox.c.published_at.is_(None)))).all()
    assert unpublished == []


async def test_relay_reads_a_backlog_of_batched_rows_a_few_megabytes_at_a_time(kafka, db):
    engine, metadata, _ = db
    topic = await _topic(kafka)
    for part in range(3):
        async with _uow(engine, metadata) as uow:
            await uow.publish_batch([(topic, "k", f"{part}-{n}".encode()) for n in range(40)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    outbox = metadata.tables[f"{metadata.schema}.outbox"]
    relay = OutboxRelay(engine, outbox, producer, wake=asyncio.Event(), service="test", max_bytes=500)
    sent = [await relay.publish_batch() for _ in range(4)]
    await producer.stop()
    assert sent == [40, 40, 40, 0]  # each row is ~1.6 kB: one per round, never none
    records = await _read_all(kafka, topic, 120)
    assert [r.value.decode() for r in records] == [f"{p}-{n}" for p in range(3) for n in range(40)]


async def test_rolled_back_unit_of_work_publishes_nothing(db):
    engine, metadata, _ = db
    with pytest.raises(RuntimeError):
        async with _uow(engine, metadata) as uow:
            await uow.publish("x", key="k", type="t", time=datetime.now(UTC), data={})
            raise RuntimeError("handler failed")
    async with engine.connect() as conn:
        count = (await conn.execute(text(f'SELECT count(*) FROM "{metadata.schema}".outbox'))).scalar_one()
    assert count == 0


async def _run_loop(loop: ConsumerLoop, until, timeout: float = 20) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    deadline = asyncio.get_running_loop().time() + timeout
    while not await until() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 15)


async def _count(engine, table) -> int:
    async with engine.connect() as conn:
        return len((await conn.execute(select(table))).all())


async def test_redelivered_event_has_no_second_effect_and_offsets_survive_restart(kafka, db, settings_for):
    engine, metadata, effects = db
    topic = await _topic(kafka)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    env = make_envelope(source="test", type="t", time=datetime.now(UTC), data={})
    for _ in range(2):  # the same event twice: an at-least-once redelivery
        await producer.send_and_wait(topic, env.to_bytes(), key=b"k")
    calls = []

    async def handler(uow: UnitOfWork, e) -> None:
        calls.append(e.id)
        await uow.session.execute(effects.insert().values(event_id=e.id))

    group = f"g-{uuid.uuid4().hex[:6]}"
    make = lambda: ConsumerLoop(name="test", topics=[topic], handler=handler, settings=settings_for("ingest"),  # noqa: E731
                                uow_factory=lambda: _uow(engine, metadata), producer=producer, group_id=group)
    first = make()
    await _run_loop(first, lambda: _done(engine, effects, 1))
    assert await _count(engine, effects) == 1
    await producer.send_and_wait(topic, make_envelope(source="test", type="t", time=datetime.now(UTC),
                                                      data={}).to_bytes(), key=b"k")
    second = make()  # a restart: resumes from the committed offset, so only the new event is handled
    await _run_loop(second, lambda: _done(engine, effects, 2))
    await producer.stop()
    assert await _count(engine, effects) == 2
    assert len(calls) == 2


async def _done(engine, table, n: int) -> bool:
    return await _count(engine, table) >= n


async def test_poison_and_failing_messages_go_to_the_dlq_with_a_reason(kafka, db, settings_for):
    engine, metadata, effects = db
    topic = await _topic(kafka)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    await producer.send_and_wait(topic, b"{not an envelope", key=b"k")
    bad = make_envelope(source="test", type="t", time=datetime.now(UTC), data={"explode": True})
    good = make_envelope(source="test", type="t", time=datetime.now(UTC), data={})
    await producer.send_and_wait(topic, bad.to_bytes(), key=b"k")
    await producer.send_and_wait(topic, good.to_bytes(), key=b"k")

    async def handler(uow: UnitOfWork, e) -> None:
        if e.data.get("explode"):
            raise ValueError("cannot apply this event")
        await uow.session.execute(effects.insert().values(event_id=e.id))

    loop = ConsumerLoop(name="test", topics=[topic], handler=handler, settings=settings_for("ingest"),
                        uow_factory=lambda: _uow(engine, metadata), producer=producer,
                        group_id=f"g-{uuid.uuid4().hex[:6]}")
    await _run_loop(loop, lambda: _done(engine, effects, 1))
    dead = await _read_all(kafka, f"{topic}.dlq", 2)
    await producer.stop()
    reasons = [dict(r.headers)["x-replenish-reason"].decode() for r in dead]
    assert len(dead) == 2
    assert "not a CloudEvents envelope" in reasons[0]
    assert "cannot apply this event" in reasons[1]
    assert await _count(engine, effects) == 1  # the good event behind them was still handled




async def test_batch_handler_sees_each_new_event_once_and_a_failing_one_goes_to_the_dlq(kafka, db, settings_for):
    engine, metadata, effects = db
    topic = await _topic(kafka)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    dup = make_envelope(source="test", type="t", time=datetime.now(UTC), data={})
    bad = make_envelope(source="test", type="t", time=datetime.now(UTC), data={"explode": True})
    good = make_envelope(source="test", type="t", time=datetime.now(UTC), data={})
    for env in (dup, dup, bad, good):  # dup is redelivered inside the same batch
        await producer.send(topic, env.to_bytes(), key=b"k")
    await producer.flush()
    seen: list[list[str]] = []

    async def batch_handler(uow: UnitOfWork, envelopes) -> None:
        seen.append([e.id for e in envelopes])
        for e in envelopes:
            if e.data.get("explode"):
                raise ValueError("cannot apply this event")
            await uow.session.execute(effects.insert().values(event_id=e.id))

    loop = ConsumerLoop(name="test", topics=[topic], handler=None, batch_handler=batch_handler,
                        inbox=metadata.tables[f"{metadata.schema}.inbox"], settings=settings_for("ingest"),
                        uow_factory=lambda: _uow(engine, metadata), producer=producer,
                        group_id=f"g-{uuid.uuid4().hex[:6]}")
    await _run_loop(loop, lambda: _done(engine, effects, 2))
    dead = await _read_all(kafka, f"{topic}.dlq", 1)
    await producer.stop()
    async with engine.connect() as conn:
        applied = sorted(r.event_id for r in await conn.execute(select(effects)))
    assert seen[0] == [dup.id, bad.id, good.id]  # one call for the batch, the duplicate left out
    assert applied == sorted([dup.id, good.id])  # the rolled-back batch was replayed one event at a time
    assert [dict(r.headers)["x-replenish-reason"].decode() for r in dead] == ["ValueError: cannot apply this event"]


async def test_a_commit_during_a_relay_round_is_published_without_waiting_for_the_idle_poll(kafka, db):
    """The wake-up of a commit that lands while a round runs must start the next round at once (it was
    cleared after the round, so such rows waited for the idle poll)."""
    engine, metadata, _ = db
    topic = await _topic(kafka)
    outbox = metadata.tables[f"{metadata.schema}.outbox"]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    wake, stop = asyncio.Event(), asyncio.Event()
    relay = OutboxRelay(engine, outbox, producer, wake=wake, service="test", idle_s=60)
    real_send, sends = relay._send, []

    async def send_while_a_commit_lands(messages) -> None:
        sends.append(1)
        if len(sends) == 1:  # the round has read its rows; a unit of work commits now and wakes the relay
            async with _uow(engine, metadata) as uow:
                await uow.publish(topic, key="k", type="t", time=datetime.now(UTC), data={"n": 1})
            wake.set()
        await real_send(messages)

    relay._send = send_while_a_commit_lands
    async with _uow(engine, metadata) as uow:
        await uow.publish(topic, key="k", type="t", time=datetime.now(UTC), data={"n": 0})
    task = asyncio.create_task(relay.run(stop))
    try:
        records = await _read_all(kafka, topic, 2, timeout=10)  # far below idle_s
    finally:
        stop.set()
        wake.set()
        await asyncio.wait_for(task, 30)
        await producer.stop()
    assert sorted(json.loads(r.value)["data"]["n"] for r in records) == [0, 1]
