"""Staff search lists by trigram indexes: the columns a free-text search matches
(gql/domain/search.py, as `column ILIKE pattern`) each get a GIN index of pg_trgm,
so a search reads the rows it finds instead of scanning the table

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): what contacts(search:) and portalUsers(filter: {search:}) match.
SEARCHED = (
    ("contact", "last_name"),
    ("contact", "first_name"),
    ("contact", "company_name"),
    ("contact", "email"),
    ("contact", "customer_number"),
    ("portal_user", "email"),
)


def _name(table: str, column: str) -> str:
    return f"ix_{table}_{column}_trgm"


def upgrade() -> None:
    # Trusted since PostgreSQL 13: the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in SEARCHED:
        op.create_index(
            _name(table, column),
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    for table, column in SEARCHED:
        op.drop_index(_name(table, column), table_name=table)
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
