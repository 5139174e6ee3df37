"""The client's address: the TCP peer, or what trusted proxies say it was."""

from __future__ import annotations

import ipaddress

from starlette.types import Scope

from graphql_api.settings import Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(text: str, trusted: list[Network]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in trusted)


def resolve_client_ip(
    peer: str | None, forwarded_for: str | None, trusted: list[Network]
) -> str | None:
    """The peer, unless it is a trusted proxy: then the last untrusted X-Forwarded-For hop.

    Hops are read right to left because only the right end was written by proxies we trust;
    anything to the left of the first untrusted hop may have been made up by the client.
    """
    if peer is None or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if _address(hop) is None:
            break  # garbage in the chain: trust nothing further left
        if not _trusted(hop, trusted):
            return hop
    return peer


def client_ip_of(scope: Scope, trusted: list[Network]) -> str | None:
    """The client's address for an ASGI request."""
    peer = scope["client"][0] if scope.get("client") else None
    # Repeated header lines are one list (RFC 9110): a proxy may append its own line.
    forwarded = b", ".join(
        value for name, value in scope["headers"] if name == b"x-forwarded-for"
    ).decode("latin-1")
    return resolve_client_ip(peer, forwarded or None, trusted)
