"""Alembic environment of the bus schema (what readers consumed, for recovery after a broker restart)."""
from shared.db.migrate import run_env
from shared.db.rounds import metadata

run_env(metadata)
