"""Tables of the orders schema: POs (JSONB + indexed columns), audit, reorder index, master copies, sending,
and the event clock's day markers and decided days."""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.tables import plumbing_tables
from shared.events.markers import day_marks_table, decided_days_table

metadata = MetaData(schema="orders")
outbox, outbox_checkpoint, inbox = plumbing_tables(metadata)

purchase_orders = Table(
    "purchase_orders", metadata,
    Column("po_id", String(200), primary_key=True),
    Column("supplier_id", String(200), nullable=False),
    Column("status", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("data", JSONB, nullable=False),  # the domain PurchaseOrder (codec.po_to_dict)
    # Incremental delay checks: a saved PO is dirty until the next pass evaluates it; next_check_at is the
    # next deadline (late, critical, unacknowledged) at which its alerts can change without a change to it.
    Column("delay_dirty", Boolean, nullable=False, server_default=true()),
    Column("next_check_at", DateTime(timezone=True), nullable=True),
    Index("ix_po_supplier_status", "supplier_id", "status", "created_at"),
    Index("ix_po_status", "status"),
    Index("ix_po_delay_dirty", "po_id", postgresql_where=text("delay_dirty")),
    Index("ix_po_next_check", "next_check_at", postgresql_where=text("next_check_at IS NOT NULL")),
)

po_audit = Table(
    "po_audit", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("po_id", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("from_status", String(40), nullable=False),
    Column("to_status", String(40), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Index("ix_po_audit_po", "po_id", "id"),
)

# reorder_id -> po_id: a redelivered reorder is recognised even after its PO left `proposed`
reorder_index = Table(
    "reorder_index", metadata,
    Column("reorder_id", String(400), primary_key=True),
    Column("po_id", String(200), nullable=False),
)

suppliers = Table(
    "suppliers", metadata,
    Column("supplier_id", String(200), primary_key=True),
    Column("data", JSONB, nullable=False),
)

supplier_items = Table(
    "supplier_items", metadata,
    Column("supplier_id", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("data", JSONB, nullable=False),
)

# Location master data (its timezone: where a local day ends for the event clock)
locations = Table(
    "locations", metadata,
    Column("location", String(200), primary_key=True),
    Column("data", JSONB, nullable=False),
)

# The secret is only ever read by the sender to sign; no route, log or event carries it.
webhooks = Table(
    "webhooks", metadata,
    Column("supplier_id", String(200), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(200), nullable=True),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("po_id", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("supplier_id", String(200), nullable=False),
    Column("channel", String(20), nullable=False),  # webhook | email | none
    Column("idempotency_key", String(64), nullable=False),
    Column("body", Text, nullable=False),  # frozen at enqueue: every retry is byte-identical
    Column("status", String(20), nullable=False),  # pending | requested (email) | delivered | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    # when this round of the push schedule began (its max age counts from here); a resend starts a new round
    Column("first_attempt_at", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("po_id", "revision", name="uq_deliveries_po_revision"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
    Index("ix_deliveries_key", "idempotency_key"),
)

breakers = Table(
    "breakers", metadata,
    Column("supplier_id", String(200), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=True),
    Column("probe_at", DateTime(timezone=True), nullable=True),
)

# What was last published per alert key, so a timer publishes once per change
alert_states = Table(
    "alert_states", metadata,
    Column("key", String(400), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("po_id", String(200), nullable=True),
    Column("supplier_id", String(200), nullable=True),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

# Receipts a person should look at (over-receipt, no such line, unknown PO): flagged, never lost
receipt_flags = Table(
    "receipt_flags", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(300), nullable=False),
    Column("po_id", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("location", String(200), nullable=False),
    Column("quantity", Float, nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_receipt_flags_po", "po_id"),
)

# Event clock (docs/clock.md): policy's day_closed markers seen on the reorder topic, and per location the
# latest local day whose reorders are all on POs closed for consolidation and submitted (decided_through).
day_marks = day_marks_table(metadata)
decided_days = decided_days_table(metadata)
