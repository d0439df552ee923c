"""Alembic environment of the notify schema."""
from services.notify.models import metadata
from shared.db.migrate import run_env

run_env(metadata)
