"""Tables of the forecast schema: daily demand in event time, series bookkeeping, forecasts, overrides, and the
event clock's closed days (markers seen, staged stock movements, decided days)."""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db.tables import plumbing_tables
from shared.events.markers import day_marks_table, decided_days_table

metadata = MetaData(schema="forecast")
outbox, outbox_checkpoint, inbox = plumbing_tables(metadata)
day_marks = day_marks_table(metadata)        # ingest's day_closed markers, one row per topic and partition
decided_days = decided_days_table(metadata)  # per location, the latest day whose forecasts are committed

daily_demand = Table(
    "daily_demand", metadata,
    Column("location", String(200), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("day", Date, nullable=False),
    Column("quantity", Float, nullable=False, server_default="0"),
    Column("stockout", Boolean, nullable=False, server_default="false"),
    # Rows of one series are written day by day, scattered over the heap; the covering key lets a
    # forecast round read a series' whole history from contiguous index pages (index-only scan).
    PrimaryKeyConstraint("location", "sku", "day", name="daily_demand_pkey",
                         postgresql_include=["quantity", "stockout"]),
)

series = Table(
    "series", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("last_arrival_at", DateTime(timezone=True), nullable=False),
    Column("dirty", Boolean, nullable=False, server_default="true"),
    Column("changed_quantity", Float, nullable=False, server_default="0"),
    Column("forecast_as_of", Date, nullable=True),
    Column("on_hand", Float, nullable=True),
    Column("baseline", Float, nullable=False, server_default="0"),  # 28-day demand at the last forecast
    Column("claimed_until", DateTime(timezone=True), nullable=True),  # lease of the instance fitting it
    Column("on_hand_at", DateTime(timezone=True), nullable=True),  # event time of the last stock count
    Column("out_since", Date, nullable=True),  # first local day of the current stockout, None when in stock
    Index("ix_series_dirty", "dirty"),
)

master = Table(
    "master", metadata,
    Column("type", String(40), primary_key=True),
    Column("key", String(400), primary_key=True),
    Column("data", JSONB, nullable=False),
)

promotions = Table(
    "promotions", metadata,
    Column("sku", String(200), primary_key=True),
    Column("location", String(200), primary_key=True),  # "*" = every location
    Column("start", Date, primary_key=True),
    Column("end", Date, nullable=False),
    Column("announced_at", DateTime(timezone=True), nullable=True),  # event time of the promotion event
)

forecasts = Table(
    "forecasts", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
)

forecast_log = Table(
    "forecast_log", metadata,
    Column("location", String(200), primary_key=True),
    Column("sku", String(200), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("means", JSONB, nullable=False),  # the first 28 daily means, for accuracy once actuals arrive
)

overrides = Table(
    "overrides", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("location", String(200), nullable=False),
    Column("sku", String(200), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=False),
    Column("quantity", Float, nullable=True),     # replace the daily mean
    Column("multiplier", Float, nullable=True),   # or scale it
    Column("reason", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_overrides_key", "location", "sku"),
)

location_clock = Table(
    "location_clock", metadata,
    Column("location", String(200), primary_key=True),
    Column("first_day", Date, nullable=True),  # earliest local day of a consumed sales/stock event
    Column("last_day", Date, nullable=True),   # latest one: "event time passes the end" of the days before it
    Column("punctuated", Boolean, nullable=False, server_default="false"),  # ingest sends day_closed for it
    Column("claimed_until", DateTime(timezone=True), nullable=True),  # lease of the instance closing its days
)

stock_moves = Table(
    "stock_moves", metadata,
    # Event clock: sales and stock movements wait here until their day closes, then are folded into on-hand
    # and stockout days in event-time order (whatever order they were consumed in) and deleted.
    Column("location", String(200), nullable=False),
    Column("day", Date, nullable=False),  # location-local day of `at`
    Column("sku", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ref", String(500), nullable=False),  # "<source>/<event id>": unique, and the tie-break
    Column("kind", String(40), nullable=False),
    Column("quantity", Float, nullable=True),
    PrimaryKeyConstraint("location", "day", "sku", "at", "ref", name="stock_moves_pkey"),
)
