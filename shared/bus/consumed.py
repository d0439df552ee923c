"""What the readers of each topic have recorded as consumed, and which outbox rows that covers.

A memory-only broker (the bundled Tansu) forgets every message and committed offset when it restarts, so the
offsets must be known outside it: each consumer group writes its committed offsets here (per broker epoch,
i.e. cluster id), and each relay writes, with every round it marks published, the offset after the round's
last message on every partition it reached. A round is consumed once every group that ever read its topic
has committed past that offset in the same epoch; consumed rounds are forgotten, and after a restart only
rows from the oldest round not consumed onwards are published again (readers' inboxes absorb the repeats).
"""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, func, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

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
        status = await raw.execute(FOLD_SQL, schema)
    return int(status.rsplit(" ", 1)[-1])


async def republish_unconsumed(engine: AsyncEngine, schema: str) -> int:
    """After the broker lost its log: queue again every published row from the oldest round not consumed on.

    Rows published with no round recorded at all (before this bookkeeping existed) are left as they are.
    """
    await fold(engine, schema)
    async with engine.begin() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        first = await raw.fetchval("SELECT min(first_id) FROM bus.outbox_marks WHERE schema_name = $1", schema)
        count = 0
        if first is not None:
            status = await raw.execute(f'UPDATE "{schema}".outbox SET published_at = NULL '
                                       "WHERE published_at IS NOT NULL AND id >= $1", first)
            count = int(status.rsplit(" ", 1)[-1])
        # Those rounds are sent again and marked again, in the new epoch.
        await raw.execute("DELETE FROM bus.outbox_marks WHERE schema_name = $1", schema)
    return count


class ConsumedLog:
    """A consumer group's committed offsets, written here at most every `every_s` (and on assignment)."""

    def __init__(self, engine: AsyncEngine | None, group: str, every_s: float = 1.0) -> None:
        self.engine, self.group, self.every_s = engine, group, every_s
        self.pending: dict[TopicPartition, int] = {}
        self._written_at = 0.0
        self._broken = engine is None

    async def register(self, epoch: str | None, tps: dict[TopicPartition, int]) -> None:
        """Newly assigned partitions: the group reads them (from `tps[tp]`, 0 when nothing was committed).
        A row of an older epoch is replaced; one of this epoch keeps its (further) offset."""
        await self._write(epoch, tps, "WHERE o.epoch <> excluded.epoch")

    async def committed(self, epoch: str | None, offsets: dict[TopicPartition, int]) -> None:
        self.pending.update(offsets)
        if time.monotonic() - self._written_at >= self.every_s:
            await self.flush(epoch)

    async def flush(self, epoch: str | None) -> None:
        if self.pending:
            pending, self.pending = self.pending, {}
            await self._write(epoch, pending, "")
        self._written_at = time.monotonic()

    async def _write(self, epoch: str | None, offsets: dict[TopicPartition, int], where: str) -> None:
        if self._broken or epoch is None or not offsets:
            return
        rows = [{"g": self.group, "t": tp.topic, "p": tp.partition, "e": epoch, "c": offset}
                for tp, offset in offsets.items()]
        try:
            async with self.engine.begin() as conn:
                await conn.execute(text(
                    "INSERT INTO bus.consumer_offsets AS o (group_id, topic, partition, epoch, committed) "
                    "VALUES (:g, :t, :p, :e, :c) ON CONFLICT (group_id, topic, partition) DO UPDATE SET "
                    f"epoch = excluded.epoch, committed = excluded.committed, updated_at = now() {where}"), rows)
        except Exception as exc:  # bookkeeping only: a missing table or an outage must not stop consuming
            if "consumer_offsets" in str(exc) and "does not exist" in str(exc):
                self._broken = True
                log.warning("%s: bus.consumer_offsets missing (run the migrations); a broker restart will "
                            "republish more than needed", self.group)
            else:
                log.info("%s: consumed offsets not recorded this time: %s", self.group, exc)


class Assignments(ConsumerRebalanceListener):
    """On revocation, held partitions are dropped: the next owner fetches them from the committed offset. On
    assignment, the group is recorded as a reader of the partitions (shared/bus/consumed.py); after a broker
    epoch change, each partition is read from its beginning once (offsets committed meanwhile may be stale)."""

    def __init__(self, loop: Any, consumer: AIOKafkaConsumer) -> None:
        self.loop, self.consumer = loop, consumer

    async def on_partitions_revoked(self, revoked) -> None:
        self.loop.holds.forget(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        loop, new = self.loop, set(assigned) - self.loop.sought
        if loop.from_start and new:
            self.consumer.seek_to_beginning(*new)
            loop.sought |= new
            offsets = dict.fromkeys(new, 0)
        else:
            offsets = {}
            for tp in assigned:
                with contextlib.suppress(KafkaError):
                    offsets[tp] = await self.consumer.committed(tp) or 0
        await loop.offsets_log.register(loop.consumer_epoch, offsets)
