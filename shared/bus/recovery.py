"""Noticing that the broker lost its log, and refilling it: docs/contract.md §12 for the bundled memory-only broker.

The bundled Tansu keeps nothing across a restart: topics, messages and committed offsets are gone, while
every service still holds positions in the old log. Each service process watches the broker's cluster id
(`replenish up` starts every bundled broker with a new one) and whether offsets went back (an acked send or a
high watermark below what was seen before: a broker that restarted under the same id). On either, it
recreates the topics, queues again the rows of its outbox that no reader recorded as consumed
(shared/db/rounds.py), and rebuilds its consumers so that they read the new log from its beginning; the
readers' inboxes absorb what they had already applied.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.protocol.metadata import MetadataRequest
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.admin import ensure_topics
from shared.db.rounds import republish_unconsumed

log = logging.getLogger(__name__)

RECOVERIES = Counter("replenish_broker_recoveries_total",
                     "Times this service found the broker had lost its log and refilled it from the outbox",
                     ["service"])


async def cluster_id(producer: AIOKafkaProducer, timeout: float = 5.0) -> str | None:
    """The broker's cluster id (Metadata v2+), or None when it does not say."""
    client = producer.client
    reply = await asyncio.wait_for(client.send(client.get_random_node(), MetadataRequest([])), timeout)
    return getattr(reply, "cluster_id", None) or None


class BrokerWatch:
    """One per service process: the broker epoch its relay and consumers work in, and the recovery."""

    def __init__(self, *, service: str, producer: AIOKafkaProducer, engine: AsyncEngine, schema: str,
                 bootstrap: str, partitions: int, relay: Callable[[], Any], loops: Callable[[], Iterable[Any]],
                 wake: asyncio.Event, every_s: float = 1.0) -> None:
        self.service, self.producer, self.engine, self.schema = service, producer, engine, schema
        self.bootstrap, self.partitions, self.every_s = bootstrap, partitions, every_s
        self.relay, self.loops, self.wake = relay, loops, wake
        self.epoch: str | None = None
        self.pending: str | None = None  # why a recovery is due (it is retried until it went through)
        self.recoveries = 0
        self.republished = 0
        self._poke = asyncio.Event()

    def current(self) -> str | None:
        return self.epoch

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            self.epoch = await cluster_id(self.producer)

    def offsets_back(self, where: str) -> None:
        """Called by the relay or a consumer that saw the broker's offsets go back."""
        if self.pending is None:
            log.warning("%s: the broker's offsets went back (%s): it lost its log", self.service, where)
            self.pending = f"offsets went back: {where}"
        self._poke.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._poke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.every_s)
            await self.check()

    async def check(self) -> None:
        """One look at the broker; recovers when its cluster id changed or offsets went back."""
        try:
            seen = await cluster_id(self.producer)
        except Exception:  # the broker is away: nothing to compare yet
            return
        if seen and self.epoch is None:
            self.epoch = seen
        elif seen and seen != self.epoch:
            self.pending = f"cluster id {self.epoch} became {seen}"
            self.epoch = seen
        if self.pending is not None:
            await self.recover()

    async def recover(self) -> None:
        reason = self.pending
        log.warning("%s: the broker lost its log (%s): recreating topics, republishing from the outbox",
                    self.service, reason)
        try:
            await ensure_topics(self.bootstrap, self.partitions, attempts=3)
            count = await republish_unconsumed(self.engine, self.schema)
        except Exception as exc:  # retried at the next look; nothing was lost by trying
            log.warning("%s: broker recovery not done yet (%s); retrying", self.service, exc)
            return
        relay = self.relay()
        if relay is not None:
            relay.reset()
        for loop in self.loops():
            loop.rebuild()
        self.pending = None
        self.recoveries += 1
        self.republished += count
        RECOVERIES.labels(self.service).inc()
        self.wake.set()
        log.warning("%s: broker recovered (%s): %d outbox row(s) queued again, consumers read the new log from "
                    "its beginning", self.service, reason, count)
