"""A token for every kind of caller, and the queries the reference portal sends: what
the tests comparing the engines share (the `engines` fixture is in
tests/http/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import sqlalchemy as sa
from graphql import FragmentDefinitionNode, OperationDefinitionNode, OperationType, parse
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from tests.account_helpers import PORTAL
from tests.conftest import CUSTOMER_PORTAL, INSTALLER_PORTAL, NACHBAR_PORTAL, global_id
from tests.http_helpers import login

__all__ = ["ACCOUNTS", "READ_ONLY_GROUP", "WEB_SOURCES", "tokens_of_every_caller", "web_queries"]

ACCOUNTS = {
    "customer": ("anna.becker@example.org", "Demo-Kunde-1", PORTAL),
    "read_only_customer": ("jonas.wolf@example.org", "Demo-Kunde-2", PORTAL),
    "other_org_customer": (
        "lena.fischer@example.org",
        "Demo-Kunde-3",
        global_id("Portal", NACHBAR_PORTAL),
    ),
    "installer": (
        "montage@elektro-schmidt.example",
        "Demo-Installer-1",
        global_id("Portal", INSTALLER_PORTAL),
    ),
    "admin": ("admin@musterstadt.example", "Demo-Admin-1", None),
    "agent": ("agent@musterstadt.example", "Demo-Agent-1", None),
    "anonymous": None,
}
READ_ONLY_GROUP = demo.demo_id("group:musterstadt-kunden:read-only")


async def tokens_of_every_caller(
    client: httpx.AsyncClient, session: AsyncSession
) -> dict[str, str | None]:
    """A token per kind of caller; Jonas in the read-only group (running contracts)."""
    jonas = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:jonas.wolf@example.org")
    await session.execute(
        sa.update(models.PortalUser)
        .where(models.PortalUser.id == jonas)
        .values(permission_group_id=READ_ONLY_GROUP)
    )
    found: dict[str, str | None] = {}
    for name, credentials in ACCOUNTS.items():
        if credentials is None:
            found[name] = None
            continue
        result = await login(client, *credentials)
        assert result["__typename"] == "LoggedIn", (name, result)
        found[name] = str(result["accessToken"])
    return found


WEB_SOURCES = Path(__file__).parents[1] / "web" / "src"
# The reference portal's queries the executor answers, and why they are not compiled
# (every other one is planned; tests/http/test_front_end_reads.py holds their figures).
WEB_EXECUTOR_READS = {
    "LoginOptions": "anonymous: what the login page offers follows the portal's settings,"
    " decided by gql/domain/authentication.py, not declared columns",
    "PublicPortal": "anonymous: the portal's published settings as the login page shows"
    " them (texts in the language asked for, design, identity providers), built in Python",
}


def web_queries() -> dict[str, str]:
    """Every query document the reference portal sends (web/src), by operation name, with
    the fragments it spreads appended (as graphql-codegen's client sends it)."""
    queries: dict[str, str] = {}
    fragments: dict[str, str] = {}
    for path in sorted(WEB_SOURCES.rglob("*.ts*")):
        if WEB_SOURCES / "gql" in path.parents:
            continue  # graphql-codegen's output, whose comments hold an example
        for document in re.findall(r"graphql\(`(.*?)`\)", path.read_text(), re.S):
            definition = parse(document).definitions[0]
            if isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = document
                continue
            assert isinstance(definition, OperationDefinitionNode)
            if definition.operation is OperationType.QUERY:
                assert definition.name is not None, path
                queries[definition.name.value] = document

    def with_fragments(document: str) -> str:
        used: set[str] = set()
        while True:
            whole = "\n".join([document, *(fragments[name] for name in sorted(used))])
            spread = set(re.findall(r"\.\.\.\s*([A-Za-z_]\w*)", whole)) & fragments.keys()
            if spread <= used:
                return whole
            used |= spread

    return {name: with_fragments(document) for name, document in queries.items()}
