"""The consumer loop: inbox-deduped handlers, offsets committed after the database; infrastructure failures
pause the partition and are retried until they pass, content failures go to the DLQ with their reason."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.consumed import Assignments, ConsumedLog
from shared.bus.deadletter import dead_letter_headers
from shared.bus.failures import Backoff, Failure, InfrastructureError, PoisonMessage, classify, describe
from shared.bus.holds import Holds
from shared.bus.progress import Item, Progress, Stalled
from shared.bus.types import EventTypes, Verdict, unknown_type_reason
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope
from shared.events.topics import dlq
from shared.observability.metrics import CONSUMER_LAG, DLQ, EVENT_LATENCY, EVENTS
from shared.settings import ServiceSettings

__all__ = ["BatchHandler", "ConsumerLoop", "Decoder", "Handler", "PoisonMessage", "Progress", "decode_envelope"]

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
# Applies many new envelopes (in partition order) in the caller's transaction; a failure replays them one by one.
BatchHandler = Callable[[UnitOfWork, list[Envelope]], Awaitable[None]]
Decoder = Callable[[ConsumerRecord], Envelope]

def decode_envelope(record: ConsumerRecord) -> Envelope:
    try:
        return Envelope.from_bytes(record.value)
    except Exception as exc:
        raise PoisonMessage(f"not a CloudEvents envelope: {str(exc)[:300]}") from exc


class ConsumerLoop:
    """One consumer group member: handle a batch in one transaction, commit offsets after it.

    A failure is classified (shared.bus.failures): infrastructure puts the batch back (its partitions are
    sought back, paused and retried with capped backoff for as long as it takes; nothing is committed past
    it, and `degraded` says why); anything else replays the batch one message at a time so that only the
    culprit is dead-lettered. `types` declares the event types handled and knowingly skipped; any other type
    is dead-lettered as unknown (no declaration: every type reaches the handler)."""

    def __init__(self, *, name: str, topics: list[str], handler: Handler | None, settings: ServiceSettings,
                 uow_factory: Callable[[], UnitOfWork], producer: AIOKafkaProducer,
                 decoder: Decoder = decode_envelope, group_id: str | None = None, batch_size: int = 500,
                 batch_handler: BatchHandler | None = None, inbox: Table | None = None,
                 urgent: bool = False, types: EventTypes | None = None, backoff: Backoff | None = None,
                 epoch: Callable[[], str | None] = lambda: None, offsets_engine: AsyncEngine | None = None,
                 offsets_back: Callable[[str], None] | None = None) -> None:
        if handler is None and batch_handler is None:
            raise ValueError(f"consumer {name} needs a handler or a batch_handler")
        if batch_handler is not None and inbox is None:
            raise ValueError(f"consumer {name}: a batch_handler needs the inbox table to mark batches")
        self.name, self.topics, self.handler, self.settings = name, topics, handler, settings
        self.batch_handler, self.inbox, self.types = batch_handler, inbox, types
        self.uow_factory, self.producer, self.decoder = uow_factory, producer, decoder
        self.group_id = group_id or f"replenish.{name}"
        self.batch_size = batch_size
        self.urgent = urgent
        self.progress = Progress(self.group_id)
        self.started = asyncio.Event()
        self.holds = Holds(name, self.group_id, backoff)
        # Broker epochs (shared/bus/recovery.py): committed offsets are recorded per epoch, and a new epoch
        # (the broker lost its log) rebuilds the consumer, which then reads every partition from the start.
        self.epoch, self.offsets_back = epoch, offsets_back
        self.offsets_log = ConsumedLog(offsets_engine, self.group_id)
        self.consumer_epoch: str | None = None
        self._rebuild = asyncio.Event()
        self.from_start = False
        self.sought: set[TopicPartition] = set()

    @property
    def degraded(self) -> str | None:
        """Why this consumer is not keeping up (for /readyz), or None."""
        return self.holds.degraded

    def _consumer(self) -> AIOKafkaConsumer:
        s = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers, group_id=self.group_id,
            client_id=f"{self.group_id}", enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=s.kafka_session_timeout_ms, heartbeat_interval_ms=s.kafka_heartbeat_ms,
            fetch_max_wait_ms=s.kafka_fetch_max_wait_ms if self.urgent else s.kafka_fetch_max_wait_background_ms,
            max_poll_records=self.batch_size,
            max_partition_fetch_bytes=8 * 1024 * 1024)
        consumer.subscribe(self.topics, listener=Assignments(self, consumer))
        return consumer

    def rebuild(self) -> None:
        """The broker lost its log: start a new consumer that reads every partition from its beginning."""
        self.from_start = True
        self._rebuild.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._rebuild.clear()
            self.sought.clear()
            await self._run_consumer(stop)

    async def _run_consumer(self, stop: asyncio.Event) -> None:
        consumer = self._consumer()
        self.consumer_epoch = self.epoch()
        await consumer.start()
        self.started.set()
        try:
            while not stop.is_set() and not self._rebuild.is_set():
                self.holds.resume_when_due(consumer)
                batches = await consumer.getmany(timeout_ms=self.holds.poll_ms(), max_records=self.batch_size)
                if batches:
                    # Every partition's records in one transaction (each partition's stay in order): one
                    # commit per poll instead of one per partition is less CPU and less latency under load.
                    await self._process(consumer, batches)
                await self._record_lag(consumer)
        finally:
            self.holds.forget(set(self.holds.held))
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _process(self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        records = [r for rs in batches.values() for r in rs]
        try:
            await self._handle_batch(records)
            resume_at: dict[TopicPartition, int] = {}
        except Stalled as stall:
            resume_at = stall.resume_at()
            self.holds.stall(consumer, resume_at, stall.cause)
        commit = {tp: resume_at.get(tp, rs[-1].offset + 1) for tp, rs in batches.items()
                  if resume_at.get(tp, rs[-1].offset + 1) > rs[0].offset}
        await self._commit(consumer, commit)
        if not resume_at:
            self.holds.passed(set(batches))

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
            if self.epoch() == self.consumer_epoch:  # never an old consumer's offsets under a new epoch
                await self.offsets_log.committed(self.consumer_epoch, offsets)
        except KafkaError as exc:
            # A rebalance or a broker hiccup: a later commit covers these offsets, and what is redelivered
            # meanwhile is deduped by the inbox.
            log.warning("%s: commit of %s failed: %s", self.name, offsets, describe(exc, 200))

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        # highwater() comes from fetch replies, which docs/broker.md found right where end_offsets() is not.
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            with contextlib.suppress(Exception):
                position = await consumer.position(tp)
                if high < position and self.offsets_back and self.consumer_epoch == self.epoch():
                    # the broker's log is shorter than what this consumer already read: it lost it
                    self.offsets_back(f"{tp.topic}[{tp.partition}] high watermark {high} below position {position}")
                lag = max(high - position, 0)
                self.progress.lag[(tp.topic, tp.partition)] = lag
                CONSUMER_LAG.labels(tp.topic, str(tp.partition), self.group_id).set(lag)

    def _triage(self, record: ConsumerRecord) -> Item:
        try:
            env = self.decoder(record)
        except Exception as exc:  # decoders do no I/O: whatever they raise is about the bytes
            reason = str(exc) if isinstance(exc, PoisonMessage) else f"undecodable: {describe(exc, 300)}"
            return Item(record, None, Verdict.UNKNOWN, reason)
        verdict = self.types.verdict(env.type) if self.types is not None else Verdict.HANDLE
        return Item(record, env, verdict, unknown_type_reason(env.type) if verdict is Verdict.UNKNOWN else None)

    async def _handle_batch(self, records: list[ConsumerRecord]) -> None:
        """All of the batch, or raise Stalled with the items still to do."""
        items = [self._triage(r) for r in records]
        work = [i for i in items if i.verdict is Verdict.HANDLE]
        if work:
            try:
                async with self.uow_factory() as uow:
                    if self.batch_handler is not None:
                        await self._apply_batch(uow, [i.env for i in work])
                    else:
                        for i in work:
                            await self._apply(uow, i.env)
                failed = None
            except Exception as exc:
                if classify(exc) is Failure.INFRASTRUCTURE:
                    raise Stalled(items, exc) from exc
                failed = describe(exc)
            if failed is not None:  # replayed outside the except block: its errors must not chain to this one
                log.info("%s: batch of %d failed (%s); replaying it one by one", self.name, len(work), failed)
                await self._replay(items)
                return
            self._done(work, "processed")
        for n, item in enumerate(items):
            if item.verdict is Verdict.UNKNOWN:
                await self._dead_letter_or_stall(items[n:], item.reason)
        self._done([i for i in items if i.verdict is Verdict.SKIP], "skipped")

    async def _replay(self, items: list[Item]) -> None:
        for n, item in enumerate(items):
            if item.verdict is Verdict.SKIP:
                self._done([item], "skipped")
            elif item.verdict is Verdict.UNKNOWN:
                await self._dead_letter_or_stall(items[n:], item.reason)
            else:
                await self._handle_one(items[n:])

    async def _handle_one(self, items: list[Item]) -> None:
        """items[0] in its own transaction: retried while the failure is unknown, dead-lettered as content."""
        item = items[0]
        delay, attempts = 0.1, max(self.settings.consumer_max_retries, 1)
        for attempt in range(1, attempts + 1):
            try:
                async with self.uow_factory() as uow:
                    await self._apply(uow, item.env)
                self._done([item], "processed")
                return
            except Exception as exc:
                failure = classify(exc)
                if failure is Failure.INFRASTRUCTURE:
                    raise Stalled(items, exc) from exc
                if failure is Failure.CONTENT or attempt == attempts:
                    reason = str(exc)[:500] if isinstance(exc, PoisonMessage) else describe(exc)
                    await self._dead_letter_or_stall(items, reason)
                    return
                log.warning("handler %s failed on %s (attempt %d/%d): %s", self.name, item.env.id, attempt,
                            attempts, exc)
                await asyncio.sleep(delay)
                delay *= 4

    async def _apply(self, uow: UnitOfWork, env: Envelope) -> None:
        if await uow.mark_processed(self.name, env.id):
            if self.handler is not None:
                await self.handler(uow, env)
            else:
                await self.batch_handler(uow, [env])
        else:
            EVENTS.labels(self.settings.service, "duplicate").inc()

    async def _apply_batch(self, uow: UnitOfWork, envelopes: list[Envelope]) -> None:
        """Mark the whole batch in the inbox with one statement; hand only the new envelopes on, in order."""
        new = await self._mark_new(uow, [env.id for env in envelopes])
        fresh = []
        for env in envelopes:
            if env.id in new:
                new.discard(env.id)  # the same id twice in one batch is a redelivery too
                fresh.append(env)
        if len(fresh) < len(envelopes):
            EVENTS.labels(self.settings.service, "duplicate").inc(len(envelopes) - len(fresh))
        if fresh:
            await self.batch_handler(uow, fresh)

    async def _mark_new(self, uow: UnitOfWork, ids: list[str]) -> set[str]:
        table = f'"{self.inbox.schema}"."{self.inbox.name}"' if self.inbox.schema else f'"{self.inbox.name}"'
        rows = await uow.session.execute(text(
            f"INSERT INTO {table} (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS text[])) "
            "ON CONFLICT DO NOTHING RETURNING event_id"), {"consumer": self.name, "ids": ids})
        return {r[0] for r in rows}

    def _done(self, items: list[Item], outcome: str) -> None:
        if not items:
            return
        now = time.time()
        for item in items:
            record, env = item.record, item.env
            tp = (record.topic, record.partition)
            if tp not in self.progress.event_time or env.time > self.progress.event_time[tp]:
                self.progress.event_time[tp] = env.time
            if outcome == "processed":
                EVENT_LATENCY.labels(record.topic, self.group_id).observe(max(now - record.timestamp / 1000, 0))
        EVENTS.labels(self.settings.service, outcome).inc(len(items))

    async def _dead_letter_or_stall(self, items: list[Item], reason: str) -> None:
        try:
            await self._dead_letter(items[0].record, reason)
        except InfrastructureError as exc:
            raise Stalled(items, exc) from exc

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        """To `<topic>.dlq` with the reason; a broker that cannot take it is an infrastructure failure."""
        headers = dead_letter_headers(record, reason=reason, consumer=self.name)
        try:
            await self.producer.send_and_wait(dlq(record.topic), value=record.value, key=record.key,
                                              headers=headers)
        except Exception as exc:
            raise InfrastructureError(f"dead-letter topic {dlq(record.topic)} unavailable: {describe(exc)}") from exc
        DLQ.labels(record.topic).inc()
        EVENTS.labels(self.settings.service, "dead_lettered").inc()
        log.error("dead-lettered %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)


def topic_partition(topic: str, partition: int) -> TopicPartition:
    return TopicPartition(topic, partition)
