"""outbox payload stored uncompressed

One outbox row now carries a whole batch (MBs of JSON): pglz compressing it on insert and decompressing it
for the relay cost PostgreSQL ~5 µs per event. The rows are published within moments, so the disk saved was
not worth that CPU.

Revision ID: 7c41e0b5d2a9
Revises: 3b987d2a2e8e
Create Date: 2026-11-22 02:06:00
"""
from alembic import op

revision = '7c41e0b5d2a9'
down_revision = '3b987d2a2e8e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.outbox ALTER COLUMN payload SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE ingest.outbox ALTER COLUMN payload SET STORAGE EXTENDED")
