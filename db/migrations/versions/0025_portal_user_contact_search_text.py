"""A portal user's row carries its contact's search text (`contact_search_text`), kept
by two triggers, so that a staff search for a frequent text compares each user it walks
in one row instead of looking up the user's contact by key for every user it passes
(gql/domain/search.py): on the bench's data 369 lookups (1,107 buffers) of a page's
1,531.

- `portal_user_contact_search_text` (BEFORE INSERT, and UPDATE of the contact or of the
  copy itself): the copy is the contact's `search_text`, whatever the writer sent.
  Unassigning a user (also the contact's deletion: `ON DELETE SET NULL`) clears it.
- `contact_search_text_to_portal_users` (AFTER UPDATE of a contact whose stored
  `search_text` changed): the contact's users get the new text.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("portal_user", sa.Column("contact_search_text", sa.Text(), nullable=True))
    op.execute(
        """
        CREATE FUNCTION portal_user_contact_search_text() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.contact_search_text := (
                SELECT contact.search_text FROM contact WHERE contact.id = NEW.contact_id
            );
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER portal_user_contact_search_text
        BEFORE INSERT OR UPDATE OF contact_id, contact_search_text ON portal_user
        FOR EACH ROW EXECUTE FUNCTION portal_user_contact_search_text()
        """
    )
    op.execute(
        """
        CREATE FUNCTION contact_search_text_to_portal_users() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE portal_user SET contact_search_text = NEW.search_text
            WHERE portal_user.contact_id = NEW.id;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER contact_search_text_to_portal_users
        AFTER UPDATE ON contact
        FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text)
        EXECUTE FUNCTION contact_search_text_to_portal_users()
        """
    )
    op.execute(
        "UPDATE portal_user SET contact_search_text = NULL WHERE contact_id IS NOT NULL"
    )  # the BEFORE trigger writes each assigned user's copy


def downgrade() -> None:
    op.execute("DROP TRIGGER contact_search_text_to_portal_users ON contact")
    op.execute("DROP FUNCTION contact_search_text_to_portal_users()")
    op.execute("DROP TRIGGER portal_user_contact_search_text ON portal_user")
    op.execute("DROP FUNCTION portal_user_contact_search_text()")
    op.drop_column("portal_user", "contact_search_text")
