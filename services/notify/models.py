"""Tables of the notify schema: alerts (one row per key), silences, delivery log and aggregation groups."""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.tables import plumbing_tables

metadata = MetaData(schema="notify")
outbox, outbox_checkpoint, inbox = plumbing_tables(metadata)

alerts = Table(
    "alerts", metadata,
    Column("id", String(40), primary_key=True),
    Column("key", String(500), nullable=False, unique=True),
    Column("type", String(50), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("sku", String(200)),
    Column("location", String(200)),
    Column("supplier_id", String(200)),
    Column("category", String(200)),
    Column("po_id", String(200)),
    Column("summary", Text, nullable=False, server_default=""),
    Column("explanation", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("labels", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("value_at_risk", Float),
    Column("revision", Integer, nullable=False),
    Column("fire_count", Integer, nullable=False),
    Column("first_fired_at", DateTime(timezone=True), nullable=False),
    Column("last_fired_at", DateTime(timezone=True), nullable=False),
    Column("last_event_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("acked_by", String(200)),
    Column("acked_at", DateTime(timezone=True)),
    Column("ack_comment", Text),
    Column("history", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("escalation_started_at", DateTime(timezone=True)),
    Column("escalations_sent", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # Set whenever receivers (or the alert's groups) must learn about a change; the dispatcher clears it.
    Column("needs_dispatch", Boolean, nullable=False, server_default=text("true")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_alerts_dispatch", "id", postgresql_where=text("needs_dispatch")),
    Index("ix_alerts_status", "status"),
)

silences = Table(
    "silences", metadata,
    Column("id", String(40), primary_key=True),
    Column("matchers", JSONB, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True)),
)

# One row per message and target URL. The unique key is written (status pending) BEFORE anything is sent,
# so a redelivered event or a retried flush finds the row and never sends a second time.
deliveries = Table(
    "deliveries", metadata,
    Column("id", String(80), primary_key=True),
    Column("idempotency_key", String(80), nullable=False),
    Column("target", Integer, nullable=False),
    Column("receiver", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("channel", String(50), nullable=False),
    Column("occasion", String(100), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("idempotency_key", "target", name="uq_deliveries_key_target"),
    Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'sending')")),
)

delivery_alerts = Table(
    "delivery_alerts", metadata,
    Column("delivery_id", String(80), primary_key=True),
    Column("alert_id", String(40), primary_key=True),
    Column("alert_key", String(500), nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_delivery_alerts_alert", "alert_id"),
)

groups = Table(
    "groups", metadata,
    Column("key", String(1000), primary_key=True),
    Column("state", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Purchase orders mailed to suppliers without a webhook: one row per PO revision (orders' Idempotency-Key),
# written before the first send, so a redelivered request never mails the supplier twice.
po_emails = Table(
    "po_emails", metadata,
    Column("idempotency_key", String(80), primary_key=True),
    Column("po_id", String(200), nullable=False),
    Column("supplier_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("recipient", String(320)),
    Column("supplier_name", String(500)),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("filename", String(300), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("content", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending | sending | sent | failed | suppressed
    Column("reason", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_po_emails_po", "po_id"),
    Index("ix_po_emails_due", "next_attempt_at", postgresql_where=text("status IN ('pending', 'sending')")),
)

# Acknowledge links of §11: a random 128-bit token per (alert, revision, receiver) goes out in the message;
# only its SHA-256 is kept, so a read of this table acknowledges nothing. Single-use, 24 h.
ack_links = Table(
    "ack_links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("alert_id", String(40), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("receiver", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_ack_links_expiry", "expires_at"),
)
