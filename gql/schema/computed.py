"""Fields whose value a plain function computes from columns of their row
(gql/resolvers/computed.py): the field's permission, its resolver derived from the
declaration, and the declaration in the field's metadata, where query plans read it."""

from __future__ import annotations

from typing import Any

from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.permissions import allow
from gql.context import Info
from gql.resolvers.computed import Computed, Given, declared_value, moment
from gql.schema.node import row_of

RoleSets = Role | frozenset[Role]


def given(info: Info) -> Given:
    """What a computation knows of the request on the executor, as a plan's does
    (gql/http/plans.py)."""
    context = info.context
    variables = info.variable_values
    return Given(
        context.actor,
        moment(),
        settings=context.settings,
        accept_language=context.accept_language,
        variables=variables,
    )


def value(
    computed: Computed, *roles: RoleSets, description: str, grant: Grant | None = None
) -> Any:
    """A field answering `computed` for its row."""

    def resolve(root: Any, info: Info) -> Any:
        return computed.resolve(row_of(root), given(info))

    return allow(
        *roles,
        grant=grant,
        description=description,
        resolver=resolve,
        metadata=declared_value(computed),
    )
