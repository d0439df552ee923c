"""Alembic environment of the policy schema."""
from services.policy.models import metadata
from shared.db.migrate import run_env

run_env(metadata)
