"""Tables of the policy schema: master data copies, stock in event time, on-order, positions, alerts, rules."""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.tables import plumbing_tables
from shared.events.markers import day_marks_table, decided_days_table

metadata = MetaData(schema="policy")
outbox, outbox_checkpoint, inbox = plumbing_tables(metadata)


def _keyed(name: str, *keys: str, extra: tuple = ()) -> Table:
    return Table(name, metadata, *[Column(k, String(200), primary_key=True) for k in keys],
                 Column("data", JSONB, nullable=False), *extra)


items = _keyed("items", "sku")
locations = _keyed("locations", "location")
lanes = _keyed("lanes", "from_location", "to_location")
supplier_items = _keyed("supplier_items", "supplier_id", "sku", extra=(Column("primary", Boolean, default=False),))
overrides = _keyed("overrides", "scope")
promotions = _keyed("promotions", "location", "sku", "start")

stock = Table(
    "stock", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("count_on_hand", Float, nullable=True),
    Column("count_at", DateTime(timezone=True), nullable=True),
    Column("delta_since_count", Float, nullable=False, server_default="0"),
    Column("last_event_at", DateTime(timezone=True), nullable=True),
    Column("last_sale_at", DateTime(timezone=True), nullable=True),
    # set (wall clock) when an event changed what this key's decision depends on; cleared by the decider
    Column("dirty_at", DateTime(timezone=True), nullable=True),
    # when the key first became dirty since its last decision: the decider's priority and longest wait
    Column("dirty_since", DateTime(timezone=True), nullable=True),
    # the key's latest ingest batch (CloudEvents attribute `ingestbatch`; cleared by a claim), how many of its
    # events for this key are not applied yet, and whether one of them was a count or adjustment: the key is
    # "settled" once batch_left reaches 0 (batch.track_batches) and then decided without the quiet period
    Column("batch_id", String(64), nullable=True),
    Column("batch_left", Integer, nullable=False, server_default="0"),
    Column("batch_stock", Boolean, nullable=False, server_default=text("false")),
    # when the decider last claimed the key (wall clock): sales settle it only if that was a max delay ago
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    # event clock: the on-hand the last closed-day decision saw, as of snap_at (that day's end)
    Column("snap_at", DateTime(timezone=True), nullable=True),
    Column("snap_on_hand", Float, nullable=True),
    Index("ix_stock_dirty", "dirty_at", postgresql_where=text("dirty_at IS NOT NULL")),
)

ledger = Table(
    "ledger", metadata,
    Column("event_id", String(300), primary_key=True),
    Column("location", String(200), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("delta", Float, nullable=False),
    Column("po_id", String(200), nullable=True),  # a receipt's PO: it then no longer counts as on order
    Index("ix_ledger_key_time", "location", "sku", "event_time"),
)

daily_sales = Table(
    "daily_sales", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("quantity", Float, nullable=False),
)

forecasts = Table(
    "forecasts", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("payload", JSONB, nullable=False),
)

reorders = Table(
    "reorders", metadata,
    Column("reorder_id", String(400), primary_key=True),
    Column("location", String(200), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("quantity", Float, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(20), nullable=False, server_default="purchase"),
    Column("status", String(20), nullable=False),  # open (not yet on a PO) | confirmed | closed
    Column("po_id", String(200), nullable=True),
    # wall clock, unlike decided_at: an open reorder counts as on order for REORDER_TTL_H after it, a timeout
    # on orders listing it (during a replay of history the PO cannot exist yet in event time)
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("payload", JSONB, nullable=False),
    Index("ix_reorders_key", "location", "sku", "status"),
)

po_lines = Table(
    "po_lines", metadata,
    Column("po_id", String(200), primary_key=True),
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("supplier_id", String(200), nullable=False),
    Column("status", String(40), nullable=False),
    Column("open_quantity", Float, nullable=False),
    Column("received_quantity", Float, nullable=False, server_default="0"),  # as orders last saw it
    Column("expected_date", Date, nullable=True),
    Index("ix_po_lines_key", "location", "sku"),
)

lead_times = Table(
    "lead_times", metadata,
    Column("po_id", String(200), primary_key=True),
    Column("supplier_id", String(200), nullable=False),
    Column("sku", String(200), primary_key=True),
    Column("days", Float, nullable=False),
)

positions = Table(
    "positions", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    Index("ix_positions_status", "status"),
)

alert_states = Table(
    "alert_states", metadata,
    Column("key", String(400), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
)

segments = Table(
    "segments", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("abc", String(1), nullable=False),
    Column("xyz", String(1), nullable=False),
    Column("pattern", String(20), nullable=False),
    Column("annual_value", Float, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
)

rules = Table(
    "rules", metadata,
    Column("version", Integer, primary_key=True),
    Column("doc", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", String(200), nullable=True),
)

decisions = Table(
    "decisions", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("location", String(200), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("data", JSONB, nullable=False),
    Index("ix_decisions_key", "location", "sku", "id"),
)

# Event clock (docs/clock.md): markers seen, the latest decided day per location, and the forecasts by as_of
# so a decision for day D reads the forecast as of D - 1 even when forecast has run ahead.
day_marks = day_marks_table(metadata)
decided_days = decided_days_table(metadata)

location_days = Table(
    "location_days", metadata,
    Column("location", String(200), primary_key=True),
    Column("first_day", Date, nullable=False),   # the first local day with an event: nothing to wait for before it
    Column("seen_day", Date, nullable=False),    # the latest local day with an event: every earlier day has passed
)

# Every stock count by time, and per key the on-hand its last closed-day decision saw (snap_*, on `stock`): the
# on-hand as of a closed day's end is the later of the two plus the ledger's movements after it, even when the
# events of later days are already applied (a history posted at once).
counts = Table(
    "counts", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("count_at", DateTime(timezone=True), primary_key=True),
    Column("on_hand", Float, nullable=False),
)

forecast_history = Table(
    "forecast_history", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("payload", JSONB, nullable=False),
)

# One row per key and local day: the levels of that day's latest decision, so a chart can draw the reorder point
# and order-up-to over time (the on-hand of each day is rebuilt from the ledger: kpis.py).
position_days = Table(
    "position_days", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("on_hand", Float, nullable=False),
    Column("reorder_point", Float, nullable=False),
    Column("order_up_to", Float, nullable=False),
    Column("safety_stock", Float, nullable=False),
)
