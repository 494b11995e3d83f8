"""What migrations that add email template kinds do to portals that exist: each portal
gets the new kinds' default texts in every language it has templates in (as a new
portal would), and loses them again on the way down."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.email_defaults import DEFAULT_EMAILS
from db.models.enums import EmailTemplateKind

CHECK = "ck_email_template_emailtemplatekind"

_TEMPLATE = sa.table(
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


def allow_kinds(kinds: Sequence[str]) -> None:
    """The template kinds the table accepts from now on (its CHECK constraint)."""
    op.drop_constraint(op.f(CHECK), "email_template", type_="check")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint(op.f(CHECK), "email_template", f"kind IN ({listed})")


def add_defaults(kinds: Sequence[str]) -> None:
    """The defaults of `kinds` for every portal, in each language it has templates in."""
    template = _TEMPLATE
    for kind in kinds:
        for language, (subject, text, html) in DEFAULT_EMAILS[EmailTemplateKind(kind)].items():
            spoken = (
                sa.select(template.c.organization_id, template.c.portal_id)
                .where(template.c.language == language)
                .distinct()
                .subquery()
            )
            op.execute(
                template.insert().from_select(
                    [c.name for c in template.columns],
                    sa.select(
                        sa.func.gen_random_uuid(),
                        spoken.c.organization_id,
                        spoken.c.portal_id,
                        sa.literal(kind),
                        sa.literal(language),
                        sa.literal(subject),
                        sa.literal(text),
                        sa.literal(html),
                    ),
                )
            )


def remove(kinds: Sequence[str]) -> None:
    op.execute(
        sa.text("DELETE FROM email_template WHERE kind IN :kinds").bindparams(
            sa.bindparam("kinds", list(kinds), expanding=True)
        )
    )
