"""Tables every service schema carries: the transactional outbox and the inbox of processed events."""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


def outbox_table(metadata: MetaData) -> Table:
    """Events written in the same transaction as the state change, published by the relay in id order."""
    return Table(
        "outbox", metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("topic", String(200), nullable=False),
        Column("key", Text, nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )


def outbox_checkpoint_table(metadata: MetaData) -> Table:
    """Highest outbox id known to be consumed everywhere (set after a clean, drained stop)."""
    return Table(
        "outbox_checkpoint", metadata,
        Column("name", String(50), primary_key=True),
        Column("drained_through", BigInteger, nullable=False, server_default="0"),
    )


def inbox_table(metadata: MetaData) -> Table:
    """(consumer, event id) rows committed with the handler's effects: a conflict means already done."""
    return Table(
        "inbox", metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def plumbing_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    return outbox_table(metadata), outbox_checkpoint_table(metadata), inbox_table(metadata)
