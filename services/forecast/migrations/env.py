"""Alembic environment of the forecast schema."""
from services.forecast.models import metadata
from shared.db.migrate import run_env

run_env(metadata)
