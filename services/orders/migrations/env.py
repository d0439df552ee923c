"""Alembic environment of the orders schema."""
from services.orders.models import metadata
from shared.db.migrate import run_env

run_env(metadata)
