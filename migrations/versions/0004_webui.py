"""One external store connectable once: the (platform, store reference) key covers connections not disabled.

Revision ID: 0004_webui
Revises: 0003_sign_in
Create Date: 2026-11-27 16:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_webui'
down_revision = '0003_sign_in'
branch_labels = None
depends_on = None

LIVE = sa.text("status != 'disabled'")


def upgrade():
    with op.batch_alter_table('store_connections', schema=None) as batch_op:
        batch_op.drop_constraint('uq_store_connections_platform_external_ref', type_='unique')
        batch_op.create_index('uq_store_connections_live_external_ref', ['platform', 'external_ref'], unique=True,
                              sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade():
    # the old key covered disabled connections too: they give up a reference another connection holds
    op.execute(
        "UPDATE store_connections SET external_ref = NULL WHERE status = 'disabled' AND EXISTS ("
        "SELECT 1 FROM store_connections AS other WHERE other.platform = store_connections.platform"
        " AND other.external_ref = store_connections.external_ref AND other.id != store_connections.id)"
    )
    with op.batch_alter_table('store_connections', schema=None) as batch_op:
        batch_op.drop_index('uq_store_connections_live_external_ref')
        batch_op.create_unique_constraint('uq_store_connections_platform_external_ref', ['platform', 'external_ref'])
