"""Each line of an opening balance can carry its own unique key (one per store product, O7/O8).

A "sync all products" page books the opening stock of its new products in one opening-balance
document; the per-product guarantee that no product gets two store openings moves to its line.

Revision ID: 0015_sync
Revises: 0014_inbox_dispatch
Create Date: 2026-11-28 04:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_sync'
down_revision = '0014_inbox_dispatch'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbound_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_inbound_lines_external_key'), ['external_key'])


def downgrade():
    with op.batch_alter_table('inbound_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_inbound_lines_external_key'), type_='unique')
        batch_op.drop_column('external_key')
