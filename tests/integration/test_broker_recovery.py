"""The bookkeeping behind a broker restart (shared/db/rounds.py) on the real PostgreSQL: a round of outbox
rows counts as consumed only once every group that reads its topic committed past it in the same epoch, and
after a restart exactly the rows from the oldest round not consumed are queued again."""
from __future__ import annotations

import uuid

import pytest
from aiokafka import TopicPartition
from sqlalchemy import text

from shared.bus.consumed import ConsumedLog
from shared.db.rounds import fold, mark_round, republish_unconsumed
from tests.integration.test_bus_faults import _schema_on

pytestmark = pytest.mark.integration


async def _published(engine, schema: str, ids: range) -> None:
    async with engine.begin() as conn:
        for n in ids:
            await conn.execute(text(f'INSERT INTO "{schema}".outbox (id, topic, payload, published_at) '
                                    "VALUES (:id, 't', 'x', now())"), {"id": n})


async def _mark(engine, schema: str, ids: list[int], epoch: str, ends: dict) -> None:
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await mark_round(raw, schema, ids, epoch, ends)


async def _unpublished(engine, schema: str) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f'SELECT id FROM "{schema}".outbox WHERE published_at IS NULL ORDER BY id'))
        return [r[0] for r in rows]


async def test_only_rounds_some_reader_has_not_committed_are_republished(database_url):
    async with _schema_on(database_url) as (engine, metadata, _):
        schema, topic, lonely = metadata.schema, f"t.{uuid.uuid4().hex[:8]}", f"t.{uuid.uuid4().hex[:8]}"
        await _published(engine, schema, range(1, 10))
        await _mark(engine, schema, [1, 2, 3], "old", {(topic, 0): 30, (topic, 1): 10})
        await _mark(engine, schema, [4, 5, 6], "old", {(topic, 0): 60})
        await _mark(engine, schema, [7, 8, 9], "old", {(topic, 1): 90})
        fast, slow = ConsumedLog(engine, f"g-{uuid.uuid4().hex[:6]}"), ConsumedLog(engine, f"g-{uuid.uuid4().hex[:6]}")
        await fast.register("old", {TopicPartition(topic, 0): 0, TopicPartition(topic, 1): 0})
        await slow.register("old", {TopicPartition(topic, 0): 0, TopicPartition(topic, 1): 0})
        await fast.committed("old", {TopicPartition(topic, 0): 60, TopicPartition(topic, 1): 90})
        await slow.committed("old", {TopicPartition(topic, 0): 45, TopicPartition(topic, 1): 95})
        assert await fold(engine, schema) == 3  # round 1 (both past 30 and 10) and round 3 (both past 90)
        # round 2: the slow group is at 45 on partition 0, short of 60; what it covers is queued again.
        assert await republish_unconsumed(engine, schema) == 6
        assert await _unpublished(engine, schema) == [4, 5, 6, 7, 8, 9]
        # A round of a topic nobody has read yet, or read in another epoch, is never counted consumed.
        await _mark(engine, schema, [4, 5, 6], "old", {(lonely, 0): 1})
        await _mark(engine, schema, [7, 8, 9], "new", {(topic, 0): 1})
        assert await fold(engine, schema) == 0
        # A new epoch's registration replaces the old offsets: from there on, only commits in it count.
        await fast.register("new", {TopicPartition(topic, 0): 0})
        await fast.flush("new")
        async with engine.connect() as conn:
            epoch = (await conn.execute(text("SELECT epoch, committed FROM bus.consumer_offsets WHERE group_id = :g "
                                             "AND topic = :t AND partition = 0"), {"g": fast.group, "t": topic})).one()
        assert tuple(epoch) == ("new", 0)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM bus.outbox_marks WHERE schema_name = :s"), {"s": schema})
            await conn.execute(text("DELETE FROM bus.consumer_offsets WHERE topic IN (:a, :b)"),
                               {"a": topic, "b": lonely})
