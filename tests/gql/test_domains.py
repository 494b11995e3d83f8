"""A portal's domain through every state, checked against a DNS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from gql.auth.tokens import TokenService
from gql.schema import build_schema
from gql.settings import Settings
from tests.conftest import GraphQLClient
from tests.dns_server import LoopbackDns

PORTAL_FIELDS = (
    "portal { id domain domainKind domainStatus status domainRecords { purpose name type value } }"
)
RESULT = (
    f"__typename ... on PortalPayload {{ {PORTAL_FIELDS} }}"
    " ... on MutationError { code message field detail }"
)


def mutation(name: str, input_type: str) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {RESULT} }} }}"


CREATE = mutation("createPortal", "CreatePortalInput")
SET = mutation("setPortalDomain", "SetPortalDomainInput")
VERIFY = mutation("verifyPortalDomain", "PortalIdInput")
CHECK = mutation("checkPortalConfiguration", "PortalIdInput")
PUBLISH = mutation("publishPortal", "PublishPortalInput")
ACTIVATE = mutation("activatePortal", "PortalIdInput")


@pytest.fixture
def dns() -> Iterator[LoopbackDns]:
    server = LoopbackDns()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def admin(
    gql: GraphQLClient, dns: LoopbackDns, test_settings: Settings, tokens: TokenService
) -> Any:
    settings = replace(test_settings, dns_nameservers=(dns.nameserver,))
    client = GraphQLClient(gql.session, settings, tokens, build_schema(settings))

    async def run(query: str, **input: Any) -> Any:
        data, errors = await client(query, "admin", input=input)
        assert errors == [], errors
        assert data is not None
        return next(iter(data.values()))

    return run


async def test_a_custom_domain_from_pending_to_configured(admin: Any, dns: LoopbackDns) -> None:
    created = (await admin(CREATE, type="CUSTOMER", name="Eigenes", subdomain="eigen"))["portal"]
    domain = (created["domainKind"], created["domainStatus"], created["domainRecords"])
    assert domain == ("MANAGED", "READY", [])
    portal = created["id"]

    pending = (await admin(SET, id=portal, domain=" Kundenportal.Stadtwerke-Eigen.DE. "))["portal"]
    assert pending["domain"] == "kundenportal.stadtwerke-eigen.de"
    assert (pending["domainKind"], pending["domainStatus"]) == ("CUSTOM", "PENDING_VERIFICATION")
    verification = pending["domainRecords"]
    assert [r["purpose"] for r in verification] == ["VERIFICATION", "VERIFICATION"]
    assert all(r["type"] == "CNAME" for r in verification)
    await admin(PUBLISH, id=portal)
    offline = await admin(ACTIVATE, id=portal)
    assert offline["code"] == "RULE_VIOLATED"  # not before the domain is ready

    # Nothing in DNS yet: both records are named.
    refused = await admin(VERIFY, id=portal)
    assert refused["code"] == "RULE_VIOLATED"
    assert refused["detail"].count("is missing") == 2
    # One right, one wrong.
    dns.cnames[verification[0]["name"]] = verification[0]["value"]
    dns.cnames[verification[1]["name"]] = "falsch.example"
    refused = await admin(VERIFY, id=portal)
    assert "points to falsch.example instead of" in refused["detail"]
    assert "is missing" not in refused["detail"]
    dns.cnames[verification[1]["name"]] = verification[1]["value"]
    verified = (await admin(VERIFY, id=portal))["portal"]
    assert verified["domainStatus"] == "VERIFIED"
    configuration = [r for r in verified["domainRecords"] if r["purpose"] == "CONFIGURATION"]
    assert len(configuration) == 2
    assert (await admin(VERIFY, id=portal))["code"] == "RULE_VIOLATED"  # done already

    refused = await admin(CHECK, id=portal)
    assert refused["detail"].count("is missing") == 2
    for record in configuration:
        dns.cnames[record["name"]] = record["value"]
    configured = (await admin(CHECK, id=portal))["portal"]
    assert configured["domainStatus"] == "CONFIGURED"
    assert (await admin(ACTIVATE, id=portal))["portal"]["status"] == "ACTIVE"
    # An active portal keeps its domain.
    assert (await admin(SET, id=portal, subdomain="anders"))["code"] == "RULE_VIOLATED"


async def test_configuration_needs_verification_first(admin: Any) -> None:
    portal = (await admin(CREATE, type="CUSTOMER", name="X", subdomain="xyz"))["portal"]["id"]
    await admin(SET, id=portal, domain="portal.example.org")
    refused = await admin(CHECK, id=portal)
    assert refused["code"] == "RULE_VIOLATED"
    assert "Verify the domain first" in refused["detail"]


@pytest.mark.parametrize(
    ("input", "code", "field"),
    [
        ({"domain": "kein domain"}, "INVALID_INPUT", "domain"),
        ({"domain": "localhost"}, "INVALID_INPUT", "domain"),
        ({"domain": "x.portale.example"}, "INVALID_INPUT", "domain"),  # managed: use subdomain
        ({"domain": "musterstadt.portale.example"}, "INVALID_INPUT", "domain"),
        ({}, "INVALID_INPUT", "domain"),
        ({"subdomain": "musterstadt"}, "CONFLICT", "domain"),
    ],
)
async def test_bad_domains_are_refused(
    admin: Any, input: dict[str, str], code: str, field: str
) -> None:
    portal = (await admin(CREATE, type="CUSTOMER", name="X", subdomain="xyz"))["portal"]["id"]
    refused = await admin(SET, id=portal, **input)
    assert (refused["code"], refused["field"]) == (code, field)


async def test_back_to_a_managed_subdomain(admin: Any) -> None:
    portal = (await admin(CREATE, type="CUSTOMER", name="X", subdomain="xyz"))["portal"]["id"]
    await admin(SET, id=portal, domain="portal.example.org")
    managed = (await admin(SET, id=portal, subdomain="zurueck"))["portal"]
    assert (managed["domain"], managed["domainStatus"]) == ("zurueck.portale.example", "READY")
