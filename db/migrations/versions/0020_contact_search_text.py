"""A contact's searched columns as one stored value: `search_text`, the last name, first
name, company name, email and customer number lower-cased and joined by line breaks,
with a trigram index. A staff search by a caller who may read all of them matches it
with one LIKE (gql/domain/search.py) instead of an ILIKE per column, each of which
lower-cased its value again for every row compared.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# db/models/crm.py Contact.search_text as of this revision.
SEARCH_TEXT = (
    "lower(coalesce(last_name, '') || '\n' || coalesce(first_name, '') || '\n'"
    " || coalesce(company_name, '') || '\n' || coalesce(email, '') || '\n'"
    " || coalesce(customer_number, ''))"
)


def upgrade() -> None:
    op.add_column(
        "contact",
        sa.Column(
            "search_text", sa.Text(), sa.Computed(SEARCH_TEXT, persisted=True), nullable=False
        ),
    )
    op.create_index(
        "ix_contact_search_text_trgm",
        "contact",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_contact_search_text_trgm", table_name="contact")
    op.drop_column("contact", "search_text")
