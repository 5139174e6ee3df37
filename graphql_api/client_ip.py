"""The client's address: the TCP peer, or what trusted proxies say it was."""

from __future__ import annotations

from starlette.types import Scope

from graphql_api.domain.addresses import IPAddress, parse_ip_address
from graphql_api.settings import Network


def _address(text: str) -> IPAddress | None:
    """Normalised, so that `::ffff:10.0.0.1` is inside a trusted 10.0.0.0/8."""
    try:
        return parse_ip_address(text)
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
        return _written(peer)
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if _address(hop) is None:
            break  # garbage in the chain: trust nothing further left
        if not _trusted(hop, trusted):
            return _written(hop)
    return _written(peer)


def _written(text: str | None) -> str | None:
    """An address in its one written form; anything else (a Unix socket's path) as is."""
    address = None if text is None else _address(text)
    return text if address is None else str(address)


def client_ip_of(scope: Scope, trusted: list[Network]) -> str | None:
    """The client's address for an ASGI request."""
    peer = scope["client"][0] if scope.get("client") else None
    # Repeated header lines are one list (RFC 9110): a proxy may append its own line.
    forwarded = b", ".join(
        value for name, value in scope["headers"] if name == b"x-forwarded-for"
    ).decode("latin-1")
    return resolve_client_ip(peer, forwarded or None, trusted)
