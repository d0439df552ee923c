"""A consumer group's committed offsets, written to the database as well (shared/db/rounds.py says why)."""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


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
