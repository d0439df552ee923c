"""consumer offsets and outbox rounds (docs/contract.md §12: republish what is not recorded as consumed)

Revision ID: 5e1f0c2a9b7d
Revises:
Create Date: 2026-12-03 18:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '5e1f0c2a9b7d'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consumer_offsets',
    sa.Column('group_id', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.String(length=200), nullable=False),
    sa.Column('committed', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('group_id', 'topic', 'partition'),
    schema='bus'
    )
    op.create_table('outbox_marks',
    sa.Column('schema_name', sa.String(length=63), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.BigInteger(), nullable=False),
    sa.Column('epoch', sa.String(length=200), nullable=False),
    sa.Column('next_offset', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('schema_name', 'last_id', 'topic', 'partition'),
    schema='bus'
    )


def downgrade() -> None:
    op.drop_table('outbox_marks', schema='bus')
    op.drop_table('consumer_offsets', schema='bus')
