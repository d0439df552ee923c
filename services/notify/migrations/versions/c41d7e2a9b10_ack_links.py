"""ack links

Revision ID: c41d7e2a9b10
Revises: ae9ce726028b
Create Date: 2026-12-03 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c41d7e2a9b10'
down_revision = 'ae9ce726028b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ack_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('alert_id', sa.String(length=40), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('receiver', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('token_hash'),
    schema='notify'
    )
    op.create_index('ix_ack_links_expiry', 'ack_links', ['expires_at'], unique=False, schema='notify')


def downgrade() -> None:
    op.drop_index('ix_ack_links_expiry', table_name='ack_links', schema='notify')
    op.drop_table('ack_links', schema='notify')
