"""Authorization sweep, feature by feature: every query field, node type and mutation of
the schema run as each attacker against the rows of a victim; nothing may cross a tenant
or contact boundary. The machinery (attackers, victims, generated arguments,
fingerprints) is tests/gql/sweep.py; which operations make up a feature is its
`FEATURES` table.

One campaign (logins, ground truth, the victims' fingerprints) serves the whole module,
in a transaction rolled back at its end; every operation runs in a savepoint of its own.
Each feature's test fails naming the feature and what crossed; the last test sweeps
whatever no feature test did (an operation in no feature, or a feature deselected),
prints the summary and checks the calibration, so that the sweep can not pass by being
vacuous.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from gql.auth.tokens import TokenService
from gql.domain.documents import LocalStorage
from gql.schema import schema
from gql.schema.node_types import NODE_TYPES_BY_NAME
from gql.settings import Settings
from tests.figures import report
from tests.gql.sweep import (
    ATTACKERS,
    FEATURES,
    ID_EXCEPTIONS,
    QUERY_VARIANTS,
    Campaign,
    Sweep,
    id_keys,
    id_target,
    node_type_names,
)

# Floors under what was measured (46 of 66 mutations accepted, the fingerprint noticing
# 40 of those 46, 14 of 16 query fields answering victim rows to their rightful caller).
ACCEPTED_FLOOR = 0.6
NOTICED_FLOOR = 0.75
REVEALING_FLOOR = 0.75


@pytest.fixture(scope="module")
async def campaign(
    engine: AsyncEngine,
    test_settings: Settings,
    tokens: TokenService,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Campaign]:
    """The module's campaign, on a connection whose transaction is rolled back at the end
    (conftest's `connection` and `sessions`, for a module instead of a test)."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            sessions = async_sessionmaker(
                bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
            storage = LocalStorage(tmp_path_factory.mktemp("sweep"))
            sweep = Sweep(connection, sessions, test_settings, tokens, storage)
            yield await Campaign.prepare(sweep)
        finally:
            await transaction.rollback()


def test_every_id_argument_points_to_a_node_type() -> None:
    """The name inference (or the small exception table) covers every ID argument and
    ID input field of the schema, so a new one is aimed at a victim row, not skipped."""
    graphql_schema = schema._schema
    types = node_type_names(graphql_schema)
    keys = list(id_keys(graphql_schema))
    unknown = [
        key
        for key, name, operation in keys
        if key not in ID_EXCEPTIONS and id_target(name, operation, types) is None
    ]
    assert unknown == []
    assert set(ID_EXCEPTIONS) <= {key for key, _, _ in keys}, "a stale exception"


def test_every_operation_belongs_to_one_feature() -> None:
    """A new query field, node type or mutation is swept anyway (by the calibration test
    below), but named here until `FEATURES` gives it its feature."""
    graphql_schema = schema._schema
    assert graphql_schema.query_type is not None
    assert graphql_schema.mutation_type is not None
    operations = {
        "queries": set(graphql_schema.query_type.fields),
        "nodes": set(node_type_names(graphql_schema)),
        "mutations": set(graphql_schema.mutation_type.fields),
    }
    for kind, names in operations.items():
        listed = [name for feature in FEATURES.values() for name in getattr(feature, kind)]
        assert sorted(names - set(listed)) == [], f"{kind} in no feature"
        assert sorted(set(listed) - names) == [], f"{kind} not in the schema"
        twice = sorted({name for name in listed if listed.count(name) > 1})
        assert twice == [], f"{kind} in two features"


@pytest.mark.parametrize("feature", sorted(FEATURES))
async def test_nothing_crosses_a_tenant_or_contact_boundary(
    campaign: Campaign, feature: str
) -> None:
    problems, errors = await campaign.sweep_feature(FEATURES[feature])
    assert problems == [], "\n".join(problems[:40])
    assert errors == [], "\n".join(errors[:40])


async def test_the_sweep_covers_everything_and_is_calibrated(
    campaign: Campaign, request: pytest.FixtureRequest
) -> None:
    problems, errors = await campaign.sweep_feature(campaign.untried())
    report(request, *campaign.summary())
    assert problems == [], "\n".join(problems[:40])
    assert errors == [], "\n".join(errors[:40])
    c = campaign
    query_type, mutation_type = c.roots()
    queries, mutations = len(query_type.fields), len(mutation_type.fields)
    assert set(c.node_types) == set(NODE_TYPES_BY_NAME)
    assert c.tried["query"] == set(query_type.fields)
    assert c.tried["node"] == set(c.node_types)
    assert c.tried["mutation"] == set(mutation_type.fields)
    assert c.operations > (queries * len(QUERY_VARIANTS) + mutations) * len(ATTACKERS)
    assert len(c.accepted) >= ACCEPTED_FLOOR * mutations
    assert len(c.noticed) >= NOTICED_FLOOR * len(c.accepted)
    assert len(c.revealing) >= REVEALING_FLOOR * queries
