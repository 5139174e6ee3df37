"""Client IP addresses: one address, however it is spelled (contract, "Inputs").

An IPv6 zone (`fe80::1%eth0`) names a network interface of the sender's own machine: it
is dropped. An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`) is that IPv4 address.
Without this, one client could spell itself many ways and be counted as many.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip_address(text: str) -> IPAddress:
    """The address `text` spells, normalised; ValueError when it is not an IP address."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            address = ipaddress.IPv6Address(address.packed)
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def normalize_ip_address(text: str) -> str | None:
    """The address in its one written form, or None when `text` is not an IP address."""
    try:
        return str(parse_ip_address(text))
    except ValueError:
        return None
