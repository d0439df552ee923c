"""Outbox rounds and what their readers recorded as consumed (the database side of a broker restart).

A memory-only broker (the bundled Tansu) forgets every message and committed offset when it restarts, so the
offsets must be known outside it: each consumer group writes its committed offsets here (per broker epoch,
i.e. cluster id), and each relay writes, with every round it marks published, the offset after the round's
last message on every partition it reached. A round is consumed once every group that ever read its topic
has committed past that offset in the same epoch; consumed rounds are forgotten, and after a restart only
rows from the oldest round not consumed onwards are published again (readers' inboxes absorb the repeats).
The Kafka side (a consumer writing its commits here) is shared/bus/consumed.py.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, func
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData(schema="bus")

consumer_offsets = Table(
    "consumer_offsets", metadata,
    Column("group_id", String(200), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("epoch", String(200), nullable=False),
    Column("committed", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox_marks = Table(
    "outbox_marks", metadata,
    Column("schema_name", String(63), primary_key=True),
    Column("last_id", BigInteger, primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("first_id", BigInteger, nullable=False),
    Column("epoch", String(200), nullable=False),
    Column("next_offset", BigInteger, nullable=False),
)

# A round's mark on one partition is unconsumed while a group that ever read its topic has not committed past
# it in its epoch; a topic nobody ever read counts as unconsumed too (its readers may not have joined yet).
_UNCONSUMED = """(
    NOT EXISTS (SELECT 1 FROM bus.consumer_offsets r WHERE r.topic = m.topic)
    OR EXISTS (SELECT 1 FROM (SELECT DISTINCT group_id FROM bus.consumer_offsets r WHERE r.topic = m.topic) g
               WHERE NOT EXISTS (SELECT 1 FROM bus.consumer_offsets o
                                 WHERE o.group_id = g.group_id AND o.topic = m.topic AND o.partition = m.partition
                                   AND o.epoch = m.epoch AND o.committed >= m.next_offset)))"""

MARK_SQL = ("INSERT INTO bus.outbox_marks (schema_name, first_id, last_id, epoch, topic, partition, next_offset) "
            "SELECT $1, $2, $3, $4, unnest($5::text[]), unnest($6::int[]), unnest($7::bigint[]) "
            "ON CONFLICT DO NOTHING")
FOLD_SQL = f"DELETE FROM bus.outbox_marks m WHERE m.schema_name = $1 AND NOT {_UNCONSUMED}"


async def mark_round(conn, schema: str, ids: list[int], epoch: str | None, ends: dict[tuple[str, int], int]) -> None:
    """In the relay's transaction (asyncpg connection): the round of `ids` ended at `ends` (next offsets)."""
    if not ends or epoch is None:
        return
    topics, partitions, offsets = zip(*((t, p, o) for (t, p), o in ends.items()), strict=True)
    await conn.execute(MARK_SQL, schema, min(ids), max(ids), epoch, list(topics), list(partitions), list(offsets))


async def fold(engine: AsyncEngine, schema: str) -> int:
    """Forget the rounds every reader has consumed; returns how many marks went."""
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None  # an open asyncpg connection
        status = await raw.execute(FOLD_SQL, schema)
    return int(status.rsplit(" ", 1)[-1])


async def republish_unconsumed(engine: AsyncEngine, schema: str) -> int:
    """After the broker lost its log: queue again every published row from the oldest round not consumed on.

    Rows published with no round recorded at all (before this bookkeeping existed) are left as they are.
    """
    await fold(engine, schema)
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None  # an open asyncpg connection
        first = await raw.fetchval("SELECT min(first_id) FROM bus.outbox_marks WHERE schema_name = $1", schema)
        count = 0
        if first is not None:
            status = await raw.execute(f'UPDATE "{schema}".outbox SET published_at = NULL '
                                       "WHERE published_at IS NOT NULL AND id >= $1", first)
            count = int(status.rsplit(" ", 1)[-1])
        # Those rounds are sent again and marked again, in the new epoch.
        await raw.execute("DELETE FROM bus.outbox_marks WHERE schema_name = $1", schema)
    return count
