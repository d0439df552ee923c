"""Alembic environment of the bus schema (what readers consumed, for recovery after a broker restart)."""
from shared.bus.consumed import metadata
from shared.db.migrate import run_env

run_env(metadata)
