"""Marketing consent with its time and text; email templates for pending registrations,
assigned accesses and decided change requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.email_defaults import DEFAULT_EMAILS
from db.models.enums import EmailTemplateKind

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("INVITATION", "ACTIVATION", "PASSWORD_RESET", "PROCESS_STEP_DONE", "NEW_DOCUMENT")
NEW_KINDS = ("PENDING_USER", "ACCOUNT_ASSIGNED", "CHANGE_REQUEST_DECIDED")
# Kinds 0008 allowed without giving existing portals their rows: given here with these.
BACKFILLED = ("PROCESS_STEP_DONE", "NEW_DOCUMENT")
CHECK = "ck_email_template_emailtemplatekind"


def _kinds(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    for table in ("contact", "portal_user"):
        op.add_column(
            table, sa.Column("marketing_consent_at", sa.DateTime(timezone=True), nullable=True)
        )
        op.add_column(table, sa.Column("marketing_consent_text", sa.Text(), nullable=True))
    op.add_column("account_request", sa.Column("marketing_consent_text", sa.Text(), nullable=True))
    op.drop_constraint(op.f(CHECK), "email_template", type_="check")
    op.create_check_constraint(op.f(CHECK), "email_template", _kinds(OLD_KINDS + NEW_KINDS))
    # Existing portals get the new templates in the languages they have templates in,
    # as new portals do (staff edit them from there).
    template = sa.table(
        "email_template",
        sa.column("id", sa.Uuid()),
        sa.column("organization_id", sa.Uuid()),
        sa.column("portal_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("language", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("body_text", sa.Text()),
        sa.column("body_html", sa.Text()),
    )
    for kind in NEW_KINDS + BACKFILLED:
        for language, (subject, text, html) in DEFAULT_EMAILS[EmailTemplateKind(kind)].items():
            existing = (
                sa.select(
                    sa.func.gen_random_uuid(),
                    template.c.organization_id,
                    template.c.portal_id,
                    sa.literal(kind),
                    sa.literal(language),
                    sa.literal(subject),
                    sa.literal(text),
                    sa.literal(html),
                )
                .where(template.c.language == language)
                .group_by(template.c.organization_id, template.c.portal_id)
            )
            op.execute(
                template.insert().from_select(
                    [
                        "id",
                        "organization_id",
                        "portal_id",
                        "kind",
                        "language",
                        "subject",
                        "body_text",
                        "body_html",
                    ],
                    existing,
                )
            )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM email_template WHERE kind IN :kinds").bindparams(
            sa.bindparam("kinds", NEW_KINDS + BACKFILLED, expanding=True)
        )
    )
    op.drop_constraint(op.f(CHECK), "email_template", type_="check")
    op.create_check_constraint(op.f(CHECK), "email_template", _kinds(OLD_KINDS))
    op.drop_column("account_request", "marketing_consent_text")
    for table in ("portal_user", "contact"):
        op.drop_column(table, "marketing_consent_text")
        op.drop_column(table, "marketing_consent_at")
