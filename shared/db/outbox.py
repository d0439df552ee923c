"""The outbox relay: publishes committed outbox rows in id order, one leader per schema."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.observability.metrics import OUTBOX_BACKLOG

log = logging.getLogger(__name__)


class OutboxRelay:
    """Leader-elected (PostgreSQL advisory lock) so two replicas never reorder one key's events."""

    def __init__(self, engine: AsyncEngine, outbox: Table, producer: AIOKafkaProducer, *,
                 wake: asyncio.Event, service: str, batch_size: int = 2000, idle_s: float = 0.25) -> None:
        self.engine, self.outbox, self.producer = engine, outbox, producer
        self.wake, self.service, self.batch_size, self.idle_s = wake, service, batch_size, idle_s
        self.lock_id = zlib.crc32(f"outbox:{outbox.schema}".encode())
        self.backlog = 0

    async def run(self, stop: asyncio.Event) -> None:
        async with self.engine.connect() as lock_conn:
            while not stop.is_set():
                got = (await lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_id})).scalar()
                await lock_conn.commit()
                if got:
                    break
                await _wait(stop, 2.0)
            while not stop.is_set():
                try:
                    sent = await self.publish_batch()
                except Exception:  # the broker or database is away: keep the rows, try again shortly
                    log.exception("outbox relay batch failed")
                    await _wait(stop, 1.0)
                    continue
                if sent < self.batch_size:
                    await self._idle(stop)
            with contextlib.suppress(Exception):
                await self.publish_batch()

    async def _idle(self, stop: asyncio.Event) -> None:
        self.wake.clear()
        waiter = asyncio.ensure_future(self.wake.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiter, stopper}, timeout=self.idle_s, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        stopper.cancel()

    async def publish_batch(self) -> int:
        """Send up to batch_size unpublished rows and mark them; returns how many were sent."""
        ob = self.outbox
        async with self.engine.begin() as conn:
            rows = (await conn.execute(
                select(ob.c.id, ob.c.topic, ob.c.key, ob.c.payload, ob.c.headers)
                .where(ob.c.published_at.is_(None)).order_by(ob.c.id).limit(self.batch_size))).all()
            if rows:
                futures = [await self.producer.send(
                    r.topic, value=r.payload, key=r.key.encode() if r.key else None,
                    headers=[(k, str(v).encode()) for k, v in (r.headers or {}).items()] or None) for r in rows]
                await asyncio.gather(*futures)
                # One array parameter: an IN list of thousands of literals costs more to compile than to run.
                await conn.execute(text(f'UPDATE "{ob.schema}".outbox SET published_at = now() '
                                        "WHERE id = ANY(:ids)"), {"ids": [r.id for r in rows]})
            if len(rows) < self.batch_size:  # only a short batch can have emptied the backlog
                self.backlog = (await conn.execute(
                    select(func.count()).select_from(ob).where(ob.c.published_at.is_(None)))).scalar_one()
        OUTBOX_BACKLOG.labels(self.service).set(self.backlog)
        return len(rows)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
