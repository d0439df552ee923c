"""Alembic environment of the ingest schema."""
from services.ingest.models import metadata
from shared.db.migrate import run_env

run_env(metadata)
