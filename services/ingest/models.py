"""Tables of the ingest schema: dedupe ledger, master data, quarantine, source freshness."""
from __future__ import annotations

from sqlalchemy import (
                        BigInteger,
                        Column,
                        DateTime,
                        Float,
                        Identity,
                        Index,
                        Integer,
                        MetaData,
                        String,
                        Table,
                        Text,
                        func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.tables import plumbing_tables

metadata = MetaData(schema="ingest")
outbox, outbox_checkpoint, inbox = plumbing_tables(metadata)

received = Table(
    "received", metadata,
    Column("source", String(200), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("type", String(40), nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Movements keep their effect in base units so the quality report can replay the ledger (no extra table).
    Column("location", String(200), nullable=True),
    Column("sku", String(200), nullable=True),
    Column("quantity", Float, nullable=True),  # sale −q, return +q, adjustment ±q, stock_count on_hand
)

master = Table(
    "master", metadata,
    Column("seq", BigInteger, Identity(), unique=True, nullable=False),
    Column("type", String(40), primary_key=True),
    Column("key", String(400), primary_key=True),
    Column("event", JSONB, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=True),
    Column("event_id", String(200), nullable=True),
    Column("type", String(40), nullable=True),
    Column("event_time", DateTime(timezone=True), nullable=True),
    Column("status", String(20), nullable=False),  # pending | rejected | processed | dismissed
    Column("reason", String(40), nullable=False),  # invalid | unknown_sku | unknown_location | unknown_supplier
    Column("errors", JSONB, nullable=False),
    Column("raw", JSONB, nullable=True),
    Column("door", String(20), nullable=False, server_default="events"),  # events | csv | raw | mapping
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_quarantine_status", "status", "reason"),
    Index("ix_quarantine_source", "source", "id"),
)

sources = Table(
    "sources", metadata,
    Column("source", String(200), primary_key=True),
    Column("accepted", BigInteger, nullable=False, server_default="0"),
    Column("duplicates", BigInteger, nullable=False, server_default="0"),
    Column("rejected", BigInteger, nullable=False, server_default="0"),
    Column("last_event_at", DateTime(timezone=True), nullable=True),
    Column("last_arrival_at", DateTime(timezone=True), nullable=True),
    Column("configured_cadence_s", Float, nullable=True),  # set through PUT /v1/sources/{source}
    Column("arrival_gaps", JSONB, nullable=False, server_default="[]"),  # learned cadence input (seconds)
    Column("event_gaps", JSONB, nullable=False, server_default="[]"),
    Column("stale", Integer, nullable=False, server_default="0"),
)

mappings = Table(
    "mappings", metadata,
    Column("source", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),  # every PUT adds a version; the highest is in force
    Column("mapping", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(200), nullable=True),
)
