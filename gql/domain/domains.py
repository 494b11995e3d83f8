"""A portal's domain (seed 001 "Domain"): a managed subdomain is ready at once; a custom
domain goes PENDING_VERIFICATION (two CNAME records prove control of the zone) ->
VERIFIED (two more CNAME records route it to us) -> CONFIGURED. Each check asks DNS
(dnspython; the resolver is configurable so tests use a server on loopback) and names
every missing or wrong record.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.resolver
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor
from gql.domain import audit
from gql.domain.errors import Conflict, InvalidInput, RuleViolation
from gql.domain.portals import managed_domain
from gql.domain.scope import find_visible

HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
VERIFICATION = "VERIFICATION"
CONFIGURATION = "CONFIGURATION"


@dataclass(frozen=True)
class DnsRecord:
    purpose: str  # VERIFICATION or CONFIGURATION
    name: str
    type: str
    value: str


# name -> the CNAME target it has, or None when there is none.
LookUp = Callable[[str], Awaitable[str | None]]


def resolver_lookup(nameservers: Sequence[str] = ()) -> LookUp:
    """CNAME lookups through the system's resolver or the given `host:port` servers."""
    resolver = dns.asyncresolver.Resolver(configure=not nameservers)
    if nameservers:
        hosts = []
        for server in nameservers:
            host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
            hosts.append(host or server)
            if port:
                resolver.port = int(port)
        resolver.nameservers = hosts
    resolver.lifetime = 5.0

    async def lookup(name: str) -> str | None:
        try:
            answer = await resolver.resolve(name, "CNAME")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return None
        except dns.exception.Timeout as error:
            raise RuleViolation("dns_no_answer", parameters={"name": name}) from error
        return str(answer[0].target).rstrip(".").lower()

    return lookup


def _token(portal: models.Portal, purpose: str) -> str:
    digest = hashlib.sha256(f"{portal.id}:{portal.domain}:{purpose}".encode()).hexdigest()
    return digest[:24]


def records(portal: models.Portal, base_domain: str) -> list[DnsRecord]:
    """What the utility's DNS must hold for a custom domain: the verification records
    from the start, the configuration records once verified."""
    if portal.domain_kind is not models.DomainKind.CUSTOM:
        return []
    domain = portal.domain
    found = [
        DnsRecord(
            VERIFICATION,
            f"_portal-verification.{domain}",
            "CNAME",
            f"{_token(portal, 'owner')}.verify.{base_domain}",
        ),
        DnsRecord(
            VERIFICATION,
            f"_acme-challenge.{domain}",
            "CNAME",
            f"{_token(portal, 'acme')}.acme.{base_domain}",
        ),
    ]
    if portal.domain_status is not models.DomainStatus.PENDING_VERIFICATION:
        found += [
            DnsRecord(CONFIGURATION, domain, "CNAME", f"edge.{base_domain}"),
            DnsRecord(
                CONFIGURATION,
                f"_portal.{domain}",
                "CNAME",
                f"{_token(portal, 'route')}.route.{base_domain}",
            ),
        ]
    return found


async def _portal(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> models.Portal:
    return await find_visible(
        db, models.Portal, portal_id, actor, what="portal", field="id", lock=True
    )


async def _ensure_free(db: AsyncSession, portal: models.Portal, domain: str) -> None:
    taken = await db.scalar(
        sa.select(models.Portal.id).where(
            models.Portal.domain == domain, models.Portal.id != portal.id
        )
    )
    if taken is not None:
        raise Conflict("domain_taken", field="domain", parameters={"domain": domain})


async def set_domain(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    *,
    domain: str | None,
    subdomain: str | None,
    base_domain: str,
    origin: audit.Origin,
) -> models.Portal:
    """A managed subdomain (ready at once) or a custom domain (to be verified). An
    active portal keeps its domain until it is deactivated."""
    portal = await _portal(db, actor, portal_id)
    if (domain is None) == (subdomain is None):
        raise InvalidInput("domain_or_subdomain", field="domain")
    if portal.status is models.PortalStatus.ACTIVE:
        raise RuleViolation("deactivate_before_domain_change", field="id")
    if subdomain is not None:
        new = managed_domain(subdomain, base_domain)
        kind, status = models.DomainKind.MANAGED, models.DomainStatus.READY
    else:
        assert domain is not None
        new = domain.strip().lower().rstrip(".")
        if not HOSTNAME.match(new):
            raise InvalidInput("domain_not_full", field="domain")
        if new == base_domain or new.endswith(f".{base_domain}"):
            raise InvalidInput(
                "domain_managed", field="domain", parameters={"baseDomain": base_domain}
            )
        kind, status = models.DomainKind.CUSTOM, models.DomainStatus.PENDING_VERIFICATION
    await _ensure_free(db, portal, new)
    portal.domain, portal.domain_kind, portal.domain_status = new, kind, status
    await db.flush()
    audit.about(db, actor, portal, "portal.domain_set", origin, {"domain": new, "kind": kind.value})
    return portal


async def _check(lookup: LookUp, wanted: Sequence[DnsRecord]) -> list[str]:
    problems = []
    for record in wanted:
        found = await lookup(record.name)
        if found is None:
            problems.append(
                f"{record.type} {record.name} is missing (should point to {record.value})"
            )
        elif found != record.value:
            problems.append(
                f"{record.type} {record.name} points to {found} instead of {record.value}"
            )
    return problems


async def _advance(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    *,
    lookup: LookUp,
    base_domain: str,
    origin: audit.Origin,
    purpose: str,
    step: tuple[models.DomainStatus, models.DomainStatus],
) -> models.Portal:
    """Move the domain one step on once the records of `purpose` are in DNS."""
    portal = await _portal(db, actor, portal_id)
    before, after = step
    if portal.domain_status is not before:
        raise RuleViolation(
            "domain_nothing_to_verify" if purpose == VERIFICATION else "domain_verify_first",
            field="id",
            parameters={"status": portal.domain_status.value},
        )
    wanted = [r for r in records(portal, base_domain) if r.purpose == purpose]
    problems = await _check(lookup, wanted)
    if problems:
        raise RuleViolation(
            "dns_records_wrong", field="id", parameters={"problems": "; ".join(problems)}
        )
    portal.domain_status = after
    action = f"portal.domain_{after.value.lower()}"
    audit.about(db, actor, portal, action, origin, {"domain": portal.domain})
    return portal


async def verify(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    *,
    lookup: LookUp,
    base_domain: str,
    origin: audit.Origin,
) -> models.Portal:
    """PENDING_VERIFICATION -> VERIFIED once both verification records are in DNS."""
    status = models.DomainStatus
    return await _advance(
        db,
        actor,
        portal_id,
        lookup=lookup,
        base_domain=base_domain,
        origin=origin,
        purpose=VERIFICATION,
        step=(status.PENDING_VERIFICATION, status.VERIFIED),
    )


async def check_configuration(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    *,
    lookup: LookUp,
    base_domain: str,
    origin: audit.Origin,
) -> models.Portal:
    """VERIFIED -> CONFIGURED once the configuration records route the domain to us."""
    status = models.DomainStatus
    return await _advance(
        db,
        actor,
        portal_id,
        lookup=lookup,
        base_domain=base_domain,
        origin=origin,
        purpose=CONFIGURATION,
        step=(status.VERIFIED, status.CONFIGURED),
    )
