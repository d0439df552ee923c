"""Dead letters: the headers a consumer puts on them, and reading and replaying a `<topic>.dlq`.

A replay re-publishes each dead letter (key, value and its own headers) to the topic and partition it came
from; consumers are idempotent through their inboxes, so one that had applied it already skips it. Progress is
committed by a consumer group per dead-letter topic, so a second replay sends only what arrived since."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

REASON = "x-replenish-reason"
CONSUMER = "x-replenish-consumer"
ORIGINAL_TOPIC = "x-original-topic"
ORIGINAL_PARTITION = "x-original-partition"
ORIGINAL_OFFSET = "x-original-offset"
ORIGINAL_TIMESTAMP = "x-original-timestamp"
REPLAYED_FROM = "x-replenish-replayed-from"
_OURS = frozenset({REASON, CONSUMER, ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET, ORIGINAL_TIMESTAMP,
                   REPLAYED_FROM})
SUFFIX = ".dlq"


def dead_letter_headers(record: ConsumerRecord, *, reason: str, consumer: str) -> list[tuple[str, bytes]]:
    """The record's own headers, then why and where it failed."""
    own = [(k, v) for k, v in (record.headers or ()) if k not in _OURS]
    return [*own, (REASON, reason.encode()[:1000]), (CONSUMER, consumer.encode()),
            (ORIGINAL_TOPIC, record.topic.encode()), (ORIGINAL_PARTITION, str(record.partition).encode()),
            (ORIGINAL_OFFSET, str(record.offset).encode()), (ORIGINAL_TIMESTAMP, str(record.timestamp).encode())]


def dlq_topic(topic: str) -> str:
    return topic if topic.endswith(SUFFIX) else f"{topic}{SUFFIX}"


def replay_group(topic: str) -> str:
    """The consumer group whose committed offsets say how far `topic`'s dead letters were replayed."""
    return f"replenish.dlq-replay.{dlq_topic(topic)[:-len(SUFFIX)]}"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    time: datetime

    @classmethod
    def from_record(cls, record: ConsumerRecord) -> DeadLetter:
        return cls(record.topic, record.partition, record.offset, record.key, record.value,
                   tuple(record.headers or ()), datetime.fromtimestamp(record.timestamp / 1000, UTC))

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace") if v is not None else None
        return None

    def _int(self, name: str) -> int | None:
        value = self.header(name)
        return int(value) if value and value.lstrip("-").isdigit() else None

    @property
    def reason(self) -> str | None:
        return self.header(REASON)

    @property
    def consumer(self) -> str | None:
        return self.header(CONSUMER)

    @property
    def original_topic(self) -> str:
        return self.header(ORIGINAL_TOPIC) or self.topic.removesuffix(SUFFIX)

    @property
    def original_partition(self) -> int | None:
        return self._int(ORIGINAL_PARTITION)

    @property
    def original_offset(self) -> int | None:
        return self._int(ORIGINAL_OFFSET)

    def replay_headers(self) -> list[tuple[str, bytes]]:
        own = [(k, v) for k, v in self.headers if k not in _OURS]
        return [*own, (REPLAYED_FROM, f"{self.topic}[{self.partition}]@{self.offset}".encode())]

    def as_dict(self, *, replayed: bool | None = None) -> dict[str, Any]:
        return {"partition": self.partition, "offset": self.offset,
                "key": self.key.decode(errors="replace") if self.key is not None else None,
                "reason": self.reason, "consumer": self.consumer, "original_topic": self.original_topic,
                "original_partition": self.original_partition, "original_offset": self.original_offset,
                "time": self.time.isoformat(), "bytes": len(self.value or b""), "replayed": replayed}


@dataclass
class Listing:
    topic: str
    group: str
    total: int = 0
    letters: list[DeadLetter] = field(default_factory=list)
    replayed_to: dict[int, int] = field(default_factory=dict)  # partition → replay group's committed offset

    def replayed(self, letter: DeadLetter) -> bool:
        return letter.offset < self.replayed_to.get(letter.partition, 0)


@dataclass
class Replay:
    topic: str
    group: str
    dry_run: bool
    sent: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    letters: list[DeadLetter] = field(default_factory=list)


async def list_dead_letters(bootstrap: str, topic: str, *, limit: int | None = None,
                            idle_s: float = 10.0) -> Listing:
    """Every dead letter of `topic` (the first `limit` kept), and how far the replay group got."""
    name = dlq_topic(topic)
    out = Listing(name, replay_group(name))
    consumer = _consumer(bootstrap, out.group)
    try:
        await consumer.start()
        tps = await _partitions(consumer, name)
        consumer.assign(tps)
        for tp in tps:
            out.replayed_to[tp.partition] = await consumer.committed(tp) or 0
        await consumer.seek_to_beginning(*tps)
        async for records in _drain(consumer, tps, idle_s=idle_s):
            out.total += len(records)
            room = len(records) if limit is None else max(limit - len(out.letters), 0)
            out.letters += [DeadLetter.from_record(r) for r in records[:room]]
    finally:
        await consumer.stop()  # never commits: listing moves nothing
    return out


async def replay_dead_letters(bootstrap: str, topic: str, *, dry_run: bool = False, limit: int | None = None,
                              idle_s: float = 10.0,
                              on_letter: Callable[[DeadLetter], None] | None = None) -> Replay:
    """Re-publish the dead letters not yet replayed to where they came from; commit after each batch is acked."""
    name = dlq_topic(topic)
    out = Replay(name, replay_group(name), dry_run)
    consumer = _consumer(bootstrap, out.group)
    producer = None if dry_run else AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                                     enable_idempotence=False, max_request_size=8 * 1024 * 1024)
    try:
        await consumer.start()
        if producer:
            await producer.start()
        tps = await _partitions(consumer, name)
        consumer.assign(tps)  # no group join: the group only keeps the committed offsets
        async for records in _drain(consumer, tps, idle_s=idle_s):
            if limit is not None:
                records = records[:max(limit - out.sent, 0)]
            letters = [DeadLetter.from_record(r) for r in records]
            if producer and letters:
                await _publish(producer, letters)
                await consumer.commit({TopicPartition(name, p): o + 1 for p, o in _last_offsets(letters).items()})
            for letter in letters:
                out.sent += 1
                out.by_topic[letter.original_topic] = out.by_topic.get(letter.original_topic, 0) + 1
                if on_letter:
                    on_letter(letter)
            if limit is not None and out.sent >= limit:
                break
    finally:
        await consumer.stop()
        if producer:
            await producer.stop()
    return out


async def _publish(producer: AIOKafkaProducer, letters: list[DeadLetter]) -> None:
    partitions: dict[str, set[int]] = {}
    futures = []
    for letter in letters:
        target = letter.original_topic
        if target not in partitions:
            partitions[target] = set(await producer.partitions_for(target))
        # Back to its own partition: keyless day markers were addressed to one, and a key keeps its place.
        partition = letter.original_partition if letter.original_partition in partitions[target] else None
        futures.append(await producer.send(target, value=letter.value, key=letter.key,
                                           headers=letter.replay_headers(), partition=partition))
    await asyncio.gather(*futures)


def _last_offsets(letters: list[DeadLetter]) -> dict[int, int]:
    out: dict[int, int] = {}
    for letter in letters:
        out[letter.partition] = max(out.get(letter.partition, -1), letter.offset)
    return out


def _consumer(bootstrap: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                            auto_offset_reset="earliest", fetch_max_wait_ms=100,
                            max_partition_fetch_bytes=8 * 1024 * 1024)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    if topic not in await consumer.topics():
        raise LookupError(f"no topic {topic} on the broker")
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


async def _drain(consumer: AIOKafkaConsumer, tps: list[TopicPartition], *,
                 idle_s: float) -> AsyncIterator[list[ConsumerRecord]]:
    """Batches (in partition, offset order) from the current positions until every partition is caught up
    with its high watermark as the fetch replies tell it (docs/broker.md: end_offsets can be wrong)."""
    clock = asyncio.get_running_loop().time
    last_progress = clock()
    while True:
        batches = await consumer.getmany(*tps, timeout_ms=300, max_records=500)
        records = sorted((r for rs in batches.values() for r in rs), key=lambda r: (r.partition, r.offset))
        if records:
            last_progress = clock()
            yield records
        if await _caught_up(consumer, tps):
            return
        if clock() - last_progress > idle_s:
            raise TimeoutError(f"no progress reading {tps[0].topic} for {idle_s:.0f} s")


async def _caught_up(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> bool:
    for tp in tps:
        high = consumer.highwater(tp)
        if high is None or await consumer.position(tp) < high:
            return False
    return True
