"""The outbox relay: publishes committed outbox rows in id order, one leader per schema."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.rounds import fold, mark_round
from shared.events.markers import BROADCAST_HEADER, fan_out
from shared.observability.metrics import OUTBOX_BACKLOG

log = logging.getLogger(__name__)

# An outbox row with this header carries many messages (encode_messages): one row per batch instead of
# one per event saves PostgreSQL an insert, a select and an update per event (py-spy on ingest).
BATCH_HEADER = "x-replenish-batch"
_HEAD = struct.Struct("<HiI")  # topic length, key length (-1: no key), value length
_PARTITION_CACHE = 200_000  # keys remembered: aiokafka's murmur2 is pure Python
FOLD_EVERY_S = 5.0  # how often consumed rounds are forgotten (shared/db/rounds.py)


def encode_messages(messages: Iterable[tuple[str, str | None, bytes]]) -> bytes:
    """(topic, key, value) triples as one payload: length-prefixed, so values need no escaping."""
    parts: list[bytes] = []
    head = _HEAD.pack
    for topic, key, value in messages:
        name = topic.encode()
        if key is None:
            parts += (head(len(name), -1, len(value)), name, value)
        else:
            raw_key = key.encode()
            parts += (head(len(name), len(raw_key), len(value)), name, raw_key, value)
    return b"".join(parts)


def decode_messages(payload: bytes) -> list[tuple[str, bytes | None, bytes]]:
    """The inverse of encode_messages, with keys as bytes (what the producer sends)."""
    return [(topic, key, value) for topic, key, value, _ in _outgoing(payload)]


def _outgoing(payload: bytes) -> list[tuple[str, bytes | None, bytes, None]]:
    """decode_messages as the relay sends them (no headers). Plain bytes slices (one copy each, where a
    memoryview slice and bytes() made two objects), and a run of one topic decodes its name once."""
    payload = bytes(payload)  # the same object when it already is bytes
    out, at, end = [], 0, len(payload)
    unpack, size = _HEAD.unpack_from, _HEAD.size
    raw_name, topic = None, ""
    while at < end:
        topic_len, key_len, value_len = unpack(payload, at)
        at += size
        if raw_name is None or topic_len != len(raw_name) or not payload.startswith(raw_name, at):
            raw_name = payload[at:at + topic_len]
            topic = raw_name.decode()
        at += topic_len
        key = None
        if key_len >= 0:
            key = payload[at:at + key_len]
            at += key_len
        out.append((topic, key, payload[at:at + value_len], None))
        at += value_len
    return out


@dataclass
class _Round:
    """One relay round: the rows taken and their messages, in outbox id order."""

    ids: list[int] = field(default_factory=list)
    messages: list[tuple[str, bytes | None, bytes, list | None]] = field(default_factory=list)
    more: bool = False  # rows were left for the next round


class OutboxRelay:
    """Leader-elected (PostgreSQL advisory lock) so two replicas never reorder one key's events."""

    def __init__(self, engine: AsyncEngine, outbox: Table, producer: AIOKafkaProducer, *,
                 wake: asyncio.Event, service: str, batch_size: int = 2000, idle_s: float = 0.25,
                 max_messages: int = 20_000, max_bytes: int = 16 * 1024 * 1024,
                 epoch: Callable[[], str | None] = lambda: None,
                 offsets_back: Callable[[str], None] | None = None) -> None:
        self.engine, self.outbox, self.producer = engine, outbox, producer
        self.wake, self.service, self.batch_size, self.idle_s = wake, service, batch_size, idle_s
        self.max_messages, self.max_bytes = max_messages, max_bytes
        self.lock_id = zlib.crc32(f"outbox:{outbox.schema}".encode())
        self.backlog = 0
        self._more = False
        self._partitions: dict[tuple[bytes, int], int] = {}
        # Broker epoch (cluster id) to mark rounds with, and whom to tell when the broker's offsets went back
        # (it lost its log): the bookkeeping that lets a restarted memory-only broker be refilled.
        self.epoch, self.offsets_back = epoch, offsets_back
        self.sent_through: dict[tuple[str, int], int] = {}
        self.marking = False  # set at run() when the bus schema exists
        self._folded_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        async with self.engine.connect() as lock_conn:
            while not stop.is_set():
                got = (await lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_id})).scalar()
                await lock_conn.commit()
                if got:
                    break
                await _wait(stop, 2.0)
            self.marking = bool((await lock_conn.execute(text("SELECT to_regclass('bus.outbox_marks')"))).scalar())
            await lock_conn.commit()
            while not stop.is_set():
                # Cleared before the round reads, never after: a commit that lands during the round wakes the
                # next one at once (clearing after the round lost it, and its rows waited idle_s).
                self.wake.clear()
                try:
                    await self.publish_batch()
                except Exception:  # the broker or database is away: keep the rows, try again shortly
                    log.exception("outbox relay batch failed")
                    await _wait(stop, 1.0)
                    continue
                await self._fold()
                if not self._more:
                    await self._idle(stop)
            with contextlib.suppress(Exception):
                await self.publish_batch()

    async def _idle(self, stop: asyncio.Event) -> None:
        """Until a commit wakes the relay (at once if one came during the last round), or idle_s."""
        waiter = asyncio.ensure_future(self.wake.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, timeout=self.idle_s, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()

    async def publish_batch(self) -> int:
        """Send the oldest unpublished rows (up to batch_size rows, max_bytes of payload, max_messages
        messages; always at least one row), wait for the broker's acks, then mark them; returns how many
        messages were sent."""
        table = f'"{self.outbox.schema}".outbox' if self.outbox.schema else "outbox"
        async with self.engine.connect() as holder:
            # By hand on the asyncpg connection, in its own transaction: a round is a few small statements,
            # and through SQLAlchemy each cost more CPU than PostgreSQL spent on it (py-spy on ingest).
            conn = (await holder.get_raw_connection()).driver_connection
            async with conn.transaction():
                # Sizes first: a backlog of batched rows (after a broker outage) must not be read whole.
                heads = await conn.fetch(f"SELECT id, octet_length(payload) FROM {table} "
                                         "WHERE published_at IS NULL ORDER BY id LIMIT $1", self.batch_size)
                ids = _within(heads, self.max_bytes)
                rows = await conn.fetch(f"SELECT id, topic, key, payload, headers::text FROM {table} "
                                        "WHERE id = ANY($1::bigint[]) ORDER BY id", ids) if ids else []
                taken = self._take(rows)
                taken.more = taken.more or len(heads) >= self.batch_size or len(ids) < len(heads)
                if taken.ids:
                    ends = await self._send(taken.messages)
                    if self.marking:
                        await mark_round(conn, self.outbox.schema, taken.ids, self.epoch() or "unknown", ends)
                    await conn.execute(f"UPDATE {table} SET published_at = now() WHERE id = ANY($1::bigint[])",
                                       taken.ids)
                self._more = taken.more
                if not taken.more:  # only a short round can have emptied the backlog
                    self.backlog = await conn.fetchval(
                        f"SELECT count(*) FROM {table} WHERE published_at IS NULL")
        OUTBOX_BACKLOG.labels(self.service).set(self.backlog)
        return len(taken.messages)

    def _take(self, rows: list[Any]) -> _Round:
        taken = _Round()
        for row_id, topic, key, payload, raw_headers in rows:
            headers = (json.loads(raw_headers) if raw_headers else None) or {}  # JSON null or SQL NULL
            if headers.get(BATCH_HEADER):
                batch = _outgoing(payload)
            else:
                wire = [(k, str(v).encode()) for k, v in headers.items()] or None
                batch = [(topic, key.encode() if key else None, payload, wire)]
            if taken.ids and len(taken.messages) + len(batch) > self.max_messages:
                taken.more = True
                break
            taken.ids.append(row_id)
            taken.messages += batch
        return taken

    async def _fold(self) -> None:
        """Now and then, forget the rounds every reader has consumed (bookkeeping: a failure waits)."""
        if not self.marking or time.monotonic() - self._folded_at < FOLD_EVERY_S:
            return
        self._folded_at = time.monotonic()
        try:
            await fold(self.engine, self.outbox.schema)
        except Exception as exc:
            log.info("outbox rounds not folded this time: %s", exc)

    def reset(self) -> None:
        """A new broker epoch: offsets start again."""
        self.sent_through.clear()

    async def _send(self, messages: list[tuple[str, bytes | None, bytes, list | None]]) -> dict[tuple[str, int], int]:
        """Per partition, in order, as whole record batches: no future per message (about twice the rate of
        send()). A partition's batches queue behind each other, so a key's order holds; batches go out in
        the order of their first message, so across topics the outbox order is kept as far as Kafka can."""
        open_: dict[tuple[str, int], Any] = {}
        created: list[tuple[str, int, Any]] = []
        counts = {topic: len(await self.producer.partitions_for(topic)) for topic in {m[0] for m in messages}}
        for topic, key, value, headers in _fanned_out(messages, counts):
            partition = self._partition(key, counts[topic]) if isinstance(key, bytes | None) else key
            key = None if isinstance(key, int) else key
            builder = open_.get((topic, partition))
            if builder is None or builder.append(timestamp=None, key=key, value=value,
                                                 headers=headers or []) is None:
                builder = open_[(topic, partition)] = self.producer.create_batch()
                created.append((topic, partition, builder))
                builder.append(timestamp=None, key=key, value=value, headers=headers or [])  # a first always fits
        futures = []
        for topic, partition, builder in created:
            builder.close()  # a closed batch is sent at once instead of lingering
            futures.append((builder.record_count(), await self.producer.send_batch(builder, topic,
                                                                                    partition=partition)))
        ends: dict[tuple[str, int], int] = {}
        for count, future in futures:
            meta = await future  # raises if the broker refused: nothing is marked, the round is retried
            tp = (meta.topic, meta.partition)
            if meta.offset < self.sent_through.get(tp, 0) and self.offsets_back:
                self.offsets_back(f"{tp[0]}[{tp[1]}] acked offset {meta.offset} after {self.sent_through[tp]}")
            ends[tp] = self.sent_through[tp] = meta.offset + count
        return ends

    def _partition(self, key: bytes | None, count: int) -> int:
        """The partition send() would choose (the producer's default partitioner), remembered per key."""
        cached = self._partitions.get((key, count)) if key is not None else None
        if cached is None:
            every = list(range(count))
            if key is None:
                return DefaultPartitioner()(None, every, every)
            if len(self._partitions) > _PARTITION_CACHE:
                self._partitions.clear()
            cached = self._partitions[(key, count)] = DefaultPartitioner()(key, every, every)
        return cached


def _fanned_out(messages: list[tuple[str, bytes | None, bytes, list | None]], counts: dict[str, int]) -> list:
    """A broadcast message (a day-closed marker) becomes one copy per partition, its key replaced by the
    partition number, in the place of the original, so it follows everything published before it."""
    out: list = []
    for topic, key, value, headers in messages:
        if headers and any(name == BROADCAST_HEADER for name, _ in headers):
            n = counts[topic]
            out += [(topic, p, fan_out(value, topic, p, n), None) for p in range(n)]
        else:
            out.append((topic, key, value, headers))
    return out


def _within(heads: list[Any], max_bytes: int) -> list[int]:
    """The ids of the oldest rows whose payloads fit in max_bytes (the first one always)."""
    ids, total = [], 0
    for row_id, size in heads:
        total += size or 0
        if ids and total > max_bytes:
            break
        ids.append(row_id)
    return ids


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
