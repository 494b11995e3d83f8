"""The identity providers a portal's login page offers: one query for `publicPortal`
and `loginOptions`, so both show the same buttons."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import strawberry

from db import models
from gql.auth.permissions import public
from gql.context import Info


@strawberry.type(description="An identity provider as the login page offers it.")
class PublicIdentityProvider:
    slug: str = public("Pass it to startSsoLogin as `provider`.")
    name: str = public("The button's label.")


async def offered_providers(info: Info, portal_id: uuid.UUID) -> list[PublicIdentityProvider]:
    """The portal's providers by name (the caller has checked the portal is public)."""
    model = models.IdentityProvider
    rows = await info.context.execute(
        sa.select(model.slug, model.name)
        .where(model.portal_id == portal_id)
        .order_by(model.name, model.slug)
    )
    return [PublicIdentityProvider(slug=row.slug, name=row.name) for row in rows.all()]
