"""Alembic environment of the auth schema."""
from shared.auth.principals import metadata
from shared.db.migrate import run_env

run_env(metadata)
