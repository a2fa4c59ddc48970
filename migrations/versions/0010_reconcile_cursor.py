"""Reconciliation cursor on store connections: orders changed up to this moment have been pulled (O12).

Revision ID: 0010_reconcile_cursor
Revises: 0009_outbox
Create Date: 2026-11-27 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_reconcile_cursor'
down_revision = '0009_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('store_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reconciled_through', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('store_connections', schema=None) as batch_op:
        batch_op.drop_column('reconciled_through')
