"""Webhooks: the event types, what an endpoint's URL may be, which addresses a delivery may
reach, and when a failed delivery is tried again. No I/O here: resolving a host name is the
services' part (services/webhook_endpoints.py, services/webhook_sender.py).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import SplitResult, urlsplit

from graphql_api.domain.addresses import IPAddress, parse_ip_address
from graphql_api.domain.errors import CouponError, invalid

# The contract's event types ("Events"), in the order a coupon's life meets them.
EVENT_TYPES = (
    "coupon.created",
    "campaign.created",
    "codes.generated",
    "reservation.created",
    "reservation.released",
    "reservation.expired",
    "redemption.succeeded",
    "redemption.rolled_back",
    "coupon.exhausted",
    "campaign.exhausted",
)
MAX_URL_LENGTH = 2048
# Standard Webhooks' own schedule (after the first try: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 10 h): the first retry within 10 s, the last a little over 27 hours after the event.
DEFAULT_RETRY_SECONDS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
# Cloud metadata services that are not in a private, loopback or link-local range.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud (shared address space)
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6 (unique local: refused anyway)
    }
)


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """How deliveries are made: `timeout` seconds for one attempt (connect to last byte),
    `retry_seconds[n]` after the (n+1)th failed attempt, then FAILED; `allow_private`
    lets endpoints reach non-public addresses (COUPONS_WEBHOOK_ALLOW_PRIVATE)."""

    allow_private: bool = False
    timeout: float = 10.0
    retry_seconds: tuple[float, ...] = DEFAULT_RETRY_SECONDS

    def retry_after(self, attempts: int) -> timedelta | None:
        """When to try again after `attempts` failed attempts; None: give up (FAILED)."""
        if attempts > len(self.retry_seconds):
            return None
        return timedelta(seconds=self.retry_seconds[attempts - 1])

    @property
    def lease_seconds(self) -> float:
        """How long a worker keeps a stream it took: a batch starts no attempt after
        `timeout` and each lasts at most `timeout`, so it is done well within this."""
        return 2 * self.timeout + 15.0


def check_webhook_url(url: str) -> SplitResult:
    """An endpoint URL as it will be called: absolute http(s), a host, no credentials (they
    would be logged and shown), at most MAX_URL_LENGTH characters. INVALID_INPUT on `url`."""
    if len(url) > MAX_URL_LENGTH:
        raise invalid("url", f"url must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise invalid("url", "url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid("url", "url is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("url", "url must be an absolute http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise invalid("url", "url must not carry credentials: the signature authenticates")
    if parts.fragment:
        raise invalid("url", "url must not have a #fragment")
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise invalid("url", "url's host is not a valid host name") from None
    if port == 0:
        raise invalid("url", "url's port must be 1-65535")
    return parts


def check_event_types(types: Sequence[str], field: str = "events") -> list[str]:
    """Event types, each once, in EVENT_TYPES order; INVALID_INPUT on `field` when empty or
    when one is not an event type."""
    unknown = [name for name in types if name not in EVENT_TYPES]
    if unknown:
        raise invalid(
            field,
            f"{unknown[0][:60]!r} is not an event type; the types are: {', '.join(EVENT_TYPES)}",
        )
    if not types:
        raise invalid(field, f"{field} must name at least one event type")
    return [name for name in EVENT_TYPES if name in types]


# IPv6 prefixes whose last 32 bits are an IPv4 address that a gateway or the host reaches:
# NAT64 (RFC 6052, RFC 8215), IPv4-translated (RFC 2765), IPv4-compatible (deprecated).
_EMBEDDING_IPV4 = tuple(
    ipaddress.ip_network(prefix)
    for prefix in ("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0:0/96", "::/96")
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries and may lead to: mapped, NAT64,
    translated, compatible, 6to4 and Teredo."""
    found = [
        candidate for candidate in (address.ipv4_mapped, address.sixtofour) if candidate is not None
    ]
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in network for network in _EMBEDDING_IPV4):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def refused_address(address: IPAddress) -> str | None:
    """Why a delivery may not reach `address` (loopback, private, link-local, metadata...),
    or None for a public address. An IPv6 address that carries an IPv4 one (mapped, NAT64,
    6to4, Teredo...) is refused when that one is."""
    if isinstance(address, ipaddress.IPv6Address) and not (
        address.is_loopback or address.is_unspecified
    ):
        for inner in embedded_ipv4(address):
            reason = refused_address(inner)
            if reason is not None:
                return reason
        if address.is_site_local:
            return "a site-local address"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast or address.is_unspecified:
        return "not a unicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names itself, in any spelling the C library takes
    (`[::1]`, `127.1`, `0x7f.1`, `2130706433`); None for a host name."""
    try:
        return parse_ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def address_error(host: str, address: IPAddress, reason: str) -> CouponError:
    """INVALID_INPUT on `url` for a host that is or resolves to a refused address."""
    shown = host if host == str(address) else f"{host} resolves to {address}, which"
    return invalid(
        "url",
        f"{shown} is {reason}; webhooks go to public addresses only "
        "(COUPONS_WEBHOOK_ALLOW_PRIVATE=true allows others)",
    )
