"""Store order states and versions (O11): the store's version of each order, new order and refund states.

Refunds skipped earlier because their order was not booked yet now wait for it.

Revision ID: 0011_order_states
Revises: 0010_reconcile_cursor
Create Date: 2026-11-27 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_order_states'
down_revision = '0010_reconcile_cursor'
branch_labels = None
depends_on = None

OLD = "state IN ('pending', 'booked', 'needs_attention', 'skipped')"
ORDER_STATES = ("state IN ('pending', 'needs_attention', 'skipped', 'booked', 'partly_returned', 'returned',"
                " 'cancelled')")
REFUND_STATES = "state IN ('pending', 'waiting', 'booked', 'needs_attention', 'skipped')"
WAITING_REASON = "order_not_booked: its order is not booked yet; the refund is booked right after it"


def upgrade():
    with op.batch_alter_table('store_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('store_modified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f('ck_store_orders_state'), type_='check')
        batch_op.create_check_constraint('state', ORDER_STATES)
    with op.batch_alter_table('store_refunds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_store_refunds_state'), type_='check')
        batch_op.create_check_constraint('state', REFUND_STATES)
    refunds = sa.table('store_refunds', sa.column('state', sa.String), sa.column('reason', sa.Text),
                       sa.column('return_invoice_id', sa.Integer))
    op.execute(
        refunds.update()
        .where(refunds.c.state == 'skipped', refunds.c.return_invoice_id.is_(None),
               refunds.c.reason.like('its order was never booked%'))
        .values(state='waiting', reason=WAITING_REASON)
    )


def downgrade():
    refunds = sa.table('store_refunds', sa.column('state', sa.String))
    op.execute(refunds.update().where(refunds.c.state == 'waiting').values(state='skipped'))
    orders = sa.table('store_orders', sa.column('state', sa.String))
    op.execute(orders.update().where(orders.c.state.in_(('partly_returned', 'returned'))).values(state='booked'))
    op.execute(orders.update().where(orders.c.state == 'cancelled').values(state='skipped'))
    with op.batch_alter_table('store_refunds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_store_refunds_state'), type_='check')
        batch_op.create_check_constraint('state', OLD)
    with op.batch_alter_table('store_orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_store_orders_state'), type_='check')
        batch_op.create_check_constraint('state', OLD)
        batch_op.drop_column('store_modified_at')
