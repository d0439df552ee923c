"""Unit of work: one transaction holding the state change, its outgoing events and the inbox mark."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.outbox import BATCH_HEADER, encode_messages
from shared.events.envelope import Envelope, deterministic_id, make_envelope
from shared.events.markers import BROADCAST_HEADER, DAY_CLOSED, marker_data

MESSAGES_PER_ROW = 5000  # keeps one outbox row at a few MB; the relay sends up to 20,000 messages a round


class UnitOfWork:
    """`async with uow:` opens a transaction; leaving it commits (or rolls back on error)."""

    def __init__(self, sessionmaker: async_sessionmaker, outbox: Table, inbox: Table, *,
                 source: str, on_commit: Callable[[], None] | None = None) -> None:
        self._sessionmaker, self._outbox, self._inbox = sessionmaker, outbox, inbox
        self.source, self._on_commit = source, on_commit
        self.session: AsyncSession | None = None
        self._published = 0

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessionmaker()
        await self.session.begin()
        self._published = 0
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        assert self.session is not None
        try:
            if exc_type is None:
                await self.session.commit()
                if self._published and self._on_commit:
                    self._on_commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()
            self.session = None

    async def mark_processed(self, consumer: str, event_id: str) -> bool:
        """Record the event as processed; False when it already was (a redelivery)."""
        stmt = (pg_insert(self._inbox).values(consumer=consumer, event_id=event_id)
                .on_conflict_do_nothing().returning(self._inbox.c.event_id))
        return (await self.session.execute(stmt)).first() is not None

    async def publish(self, topic: str, *, key: str | None, type: str, time: datetime, data: dict[str, Any],
                      id: str | None = None, headers: dict[str, str] | None = None) -> Envelope:
        """Queue an event in the outbox; the relay sends it after this transaction commits."""
        env = make_envelope(source=self.source, type=type, time=time, data=data, subject=key, id=id)
        await self.session.execute(insert(self._outbox).values(
            topic=topic, key=key, payload=env.to_bytes(), headers=headers))
        self._published += 1
        return env

    async def publish_marker(self, topic: str, *, stream: str, location: str, day: date, time: datetime) -> None:
        """A day-closed marker for every partition of `topic`, after everything this transaction published."""
        env = make_envelope(source=self.source, type=DAY_CLOSED, time=time, data=marker_data(stream, location, day),
                            id=deterministic_id("day_closed", self.source, topic, stream, location, day))
        await self.session.execute(insert(self._outbox).values(
            topic=topic, key=None, payload=env.to_bytes(), headers={BROADCAST_HEADER: "1"}))
        self._published += 1

    async def publish_many(self, rows: list[dict[str, Any]]) -> None:
        """Bulk form of publish: rows of {topic, key, payload(bytes), headers}."""
        if rows:
            await self.session.execute(insert(self._outbox), rows)
            self._published += len(rows)

    async def publish_batch(self, messages: Sequence[tuple[str, str | None, bytes]]) -> None:
        """Ready-made (topic, key, value) messages in as few outbox rows as possible.

        The relay expands such a row and sends its messages in order, after the rows before it, so this is
        publish_many without a row (insert, select, update) per message. The row's topic is its first
        message's, for reading only.
        """
        for start in range(0, len(messages), MESSAGES_PER_ROW):
            chunk = messages[start:start + MESSAGES_PER_ROW]
            await self.session.execute(insert(self._outbox).values(
                topic=chunk[0][0], key=None, payload=encode_messages(chunk), headers={BATCH_HEADER: "1"}))
        self._published += len(messages)


def wake_event() -> tuple[asyncio.Event, Callable[[], None]]:
    event = asyncio.Event()
    return event, event.set
