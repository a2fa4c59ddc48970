"""example_migrations: notes kept per product, in a table of the plugin's own.

The first revision of a plugin branch: no ``down_revision``, the branch labelled with the
plugin's name, and ``depends_on`` the core revision whose tables it needs (``products``).

Revision ID: example_migrations_0001
Revises:
Create Date: 2026-12-01 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "example_migrations_0001"
down_revision = None
branch_labels = ("example_migrations",)
depends_on = "0001_core"


def upgrade():
    op.create_table(
        "example_plugin_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name="fk_example_plugin_notes_product_id_products", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_example_plugin_notes"),
    )


def downgrade():
    op.drop_table("example_plugin_notes")
