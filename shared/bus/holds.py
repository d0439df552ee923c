"""Partitions held back by a consumer while the infrastructure is away: sought back, paused, retried with
capped backoff, released when a batch gets through (and the reason /readyz gives meanwhile)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter, Gauge

from shared.bus.failures import Backoff, describe

log = logging.getLogger(__name__)

STALLS = Counter("replenish_consumer_stalls_total",
                 "Batches put back after an infrastructure failure (partition paused, retried with backoff)",
                 ["group"])
PAUSED = Gauge("replenish_consumer_paused_partitions", "Partitions paused until the infrastructure is back",
               ["group"])


class Holds:
    """One consumer loop's held partitions → the offset to retry each from."""

    def __init__(self, name: str, group: str, backoff: Backoff | None = None) -> None:
        self.name, self.group = name, group
        self.backoff = backoff or Backoff()
        self.held: dict[TopicPartition, int] = {}
        self.retry_at: float | None = None  # None while nothing is held, or while a retry's fetch is under way
        self.since: float | None = None
        self.reason: str | None = None
        # Called when this loop's held partitions went through: its peers on the same database retry at once.
        self.on_recovered: Callable[[], None] | None = None

    @property
    def degraded(self) -> str | None:
        if not self.held:
            return None
        since = time.monotonic() - (self.since or time.monotonic())
        parts = ", ".join(f"{tp.topic}[{tp.partition}]@{off}" for tp, off in sorted(self.held.items()))
        return (f"{self.name}: infrastructure failure for {since:.0f} s, retrying with backoff, partitions paused "
                f"({parts}): {self.reason}")

    def poll_ms(self) -> int:
        """How long the next poll may wait: never past the next retry."""
        if self.retry_at is None:
            return 200
        return int(min(max(self.retry_at - time.monotonic(), 0.01), 0.2) * 1000)

    def stall(self, consumer: AIOKafkaConsumer, resume_at: dict[TopicPartition, int], cause: BaseException) -> None:
        """Seek the failed partitions back to their first undone record and pause them until the next retry."""
        now = time.monotonic()
        assigned = consumer.assignment()
        for tp, offset in resume_at.items():
            if tp in assigned:
                consumer.seek(tp, offset)
                consumer.pause(tp)
                self.held[tp] = offset
        if self.retry_at is None:  # a new failure or a failed retry, not one more partition of this one
            self.retry_at = now + self.backoff.next()
        if self.since is None:
            self.since = now
        self.reason = describe(cause, 300)
        STALLS.labels(self.group).inc()
        PAUSED.labels(self.group).set(len(self.held))
        log.warning("%s: infrastructure failure, %d partition(s) paused, retry in %.1f s: %s", self.name,
                    len(self.held), self.retry_at - now, self.reason)

    def resume_when_due(self, consumer: AIOKafkaConsumer) -> None:
        """The retry: held partitions fetch again from where they were sought back to."""
        if self.retry_at is None or time.monotonic() < self.retry_at:
            return
        self.retry_at = None
        paused = consumer.paused()
        if paused:
            consumer.resume(*paused)

    def passed(self, tps: set[TopicPartition]) -> None:
        """A batch of these partitions went through: the infrastructure is back, held ones retry at once."""
        if not self.held:
            return
        for tp in tps:
            self.held.pop(tp, None)
        if self.held:
            self.retry_at = time.monotonic()  # resumed by the next poll
            return
        log.info("%s: infrastructure back after %.1f s; consuming again", self.name,
                 time.monotonic() - (self.since or time.monotonic()))
        self.forget(set())
        if self.on_recovered:
            self.on_recovered()

    def retry_now(self) -> None:
        """Another consumer got through: retry at the next poll instead of after the backoff."""
        if self.held and self.retry_at is not None:
            self.retry_at = time.monotonic()

    def forget(self, tps: set[TopicPartition]) -> None:
        """Partitions revoked (or the loop stopping): their held records are the next owner's to fetch."""
        for tp in tps:
            self.held.pop(tp, None)
        if not self.held:
            self.retry_at = self.since = self.reason = None
            self.backoff.reset()
        PAUSED.labels(self.group).set(len(self.held))
