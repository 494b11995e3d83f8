"""The client's address: the one place that decides it, for the login lockout, the rate
limits and the audit log's origin.

Behind a reverse proxy the TCP peer is the proxy. `X-Forwarded-For` is believed only when
the peer is in `TRUSTED_PROXIES`, and then only as far as trusted proxies wrote it: each
proxy appends the address it was connected from, so walking the list from the right, the
first address that is not itself a trusted proxy is the client. Everything to its left
came from the client and is ignored (anyone can send `X-Forwarded-For: 10.0.0.1`).
Entries are bare addresses, as nginx's `$proxy_add_x_forwarded_for` and HAProxy's
`option forwardfor` write them.
"""

from __future__ import annotations

import functools
import ipaddress

from starlette.requests import HTTPConnection

from gql.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(network) for network in trusted)


def _parse(raw: str) -> Address | None:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    # An IPv4 client of a dual-stack socket is one address, not two spellings of it.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def decide(peer: str | None, forwarded_for: list[str], trusted: tuple[str, ...]) -> str | None:
    """The client address from the TCP peer and the `X-Forwarded-For` headers (in the
    order received), believing the headers only from a peer in `trusted` (CIDRs)."""
    return _decided(peer, tuple(forwarded_for), trusted)


# A client sends the same peer and headers with each request: decided once (bounded).
@functools.lru_cache(maxsize=4096)
def _decided(
    peer: str | None, forwarded_for: tuple[str, ...], trusted: tuple[str, ...]
) -> str | None:
    if peer is None:
        return None
    address = _parse(peer)
    if address is None:
        return peer  # not an IP peer (a unix socket, a test client): nothing to decide
    networks = _networks(trusted)

    def is_trusted(candidate: Address) -> bool:
        return any(candidate in network for network in networks)

    entries = [entry for header in forwarded_for for entry in header.split(",")]
    while is_trusted(address) and entries:
        hop = _parse(entries.pop())
        if hop is None:
            # A trusted proxy would not write this: the chain is broken here, so the
            # last trusted hop is as far as the answer can be believed.
            break
        address = hop
    return str(address)


def client_address(connection: HTTPConnection, settings: Settings) -> str | None:
    """The address of the client behind `connection` (see the module's docstring)."""
    peer = connection.client.host if connection.client else None
    return decide(peer, connection.headers.getlist("x-forwarded-for"), settings.trusted_proxies)
