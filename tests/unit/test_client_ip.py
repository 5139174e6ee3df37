"""The client's IP: the TCP peer, unless that peer is a trusted proxy.

Contract: "the TCP peer's address, unless that peer is listed in COUPONS_TRUSTED_PROXIES
(addresses or CIDR ranges), in which case the last untrusted address of X-Forwarded-For".
"""

from __future__ import annotations

import pytest

from graphql_api.client_ip import resolve_client_ip
from graphql_api.settings import parse_networks

PROXIES = parse_networks("10.0.0.0/8, 192.0.2.1, 2001:db8:cafe::/48")


@pytest.mark.parametrize(
    "forwarded_for",
    [None, "", "198.51.100.9", "198.51.100.9, 10.0.0.2", "unknown", "127.0.0.1"],
)
def test_an_untrusted_peer_is_the_client_whatever_the_header_says(forwarded_for):
    # given a peer that is not one of our proxies
    peer = "203.0.113.50"
    # when
    client = resolve_client_ip(peer, forwarded_for, PROXIES)
    # then
    assert client == peer


def test_without_trusted_proxies_the_header_is_never_read():
    # given no COUPONS_TRUSTED_PROXIES at all, and a local peer
    trusted = parse_networks("")
    # when
    client = resolve_client_ip("127.0.0.1", "198.51.100.9", trusted)
    # then
    assert client == "127.0.0.1"


def test_a_trusted_peer_is_replaced_by_the_hop_it_forwarded_for():
    # given
    peer, forwarded_for = "192.0.2.1", "198.51.100.9"
    # when
    client = resolve_client_ip(peer, forwarded_for, PROXIES)
    # then
    assert client == "198.51.100.9"


def test_a_peer_inside_a_trusted_range_is_trusted():
    # given a peer inside 10.0.0.0/8
    # when
    client = resolve_client_ip("10.20.30.40", "198.51.100.9", PROXIES)
    # then
    assert client == "198.51.100.9"


def test_the_last_untrusted_hop_wins_over_hops_further_left():
    # given a chain client -> untrusted hop -> our proxy
    forwarded_for = "203.0.113.1, 198.51.100.9"
    # when
    client = resolve_client_ip("192.0.2.1", forwarded_for, PROXIES)
    # then
    assert client == "198.51.100.9"


@pytest.mark.parametrize(
    ("peer", "forwarded_for"),
    [
        ("192.0.2.1", "198.51.100.9, 10.1.2.3, 10.9.9.9"),
        ("10.0.0.1", "198.51.100.9,10.1.2.3 ,  192.0.2.1"),
        ("2001:db8:cafe::1", "198.51.100.9, 2001:db8:cafe:1::7, 10.0.0.5"),
        ("2001:db8:cafe:ffff::2", "198.51.100.9, 2001:db8:cafe::3"),
    ],
)
def test_every_trusted_proxy_in_the_chain_is_skipped(peer, forwarded_for):
    # given several of our proxies (addresses, CIDR ranges, IPv6) between client and service
    # when
    client = resolve_client_ip(peer, forwarded_for, PROXIES)
    # then
    assert client == "198.51.100.9"


def test_an_ipv6_client_behind_trusted_proxies_is_found():
    # given
    forwarded_for = "2001:db8:beef::42, 10.0.0.3"
    # when
    client = resolve_client_ip("2001:db8:cafe::1", forwarded_for, PROXIES)
    # then
    assert client == "2001:db8:beef::42"


def test_an_address_the_client_made_up_on_the_left_is_ignored():
    # given a client that sends X-Forwarded-For itself, which our proxy then appends to
    spoofed = "192.0.2.1, 10.0.0.7, 1.2.3.4"  # even trusted-looking addresses
    forwarded_for = f"{spoofed}, 198.51.100.9, 10.0.0.2"
    # when
    client = resolve_client_ip("10.0.0.1", forwarded_for, PROXIES)
    # then
    assert client == "198.51.100.9"


def test_when_every_hop_is_trusted_the_peer_is_the_client():
    # given a chain made only of our own proxies
    forwarded_for = "10.0.0.3, 10.0.0.2"
    # when
    client = resolve_client_ip("10.0.0.1", forwarded_for, PROXIES)
    # then no address is untrusted, so nothing in the header is taken
    assert client == "10.0.0.1"


@pytest.mark.parametrize(
    "forwarded_for",
    [
        "198.51.100.9, garbage, 10.0.0.2",
        "198.51.100.9, not-an-ip",
        "198.51.100.9, 10.0.0.2, 999.1.1.1",
        "198.51.100.9, 10.0.0.0/8",
    ],
)
def test_a_hop_that_is_not_an_address_stops_the_trust(forwarded_for):
    # given garbage between the client and our proxies
    # when
    client = resolve_client_ip("10.0.0.1", forwarded_for, PROXIES)
    # then nothing to the left of the garbage is believed
    assert client != "198.51.100.9"
    assert client == "10.0.0.1"


@pytest.mark.parametrize("forwarded_for", [None, "", " , ,"])
def test_a_trusted_peer_without_a_forwarded_address_is_the_client(forwarded_for):
    # given a trusted peer that forwarded no address
    # when
    client = resolve_client_ip("10.0.0.1", forwarded_for, PROXIES)
    # then
    assert client == "10.0.0.1"


def test_no_peer_means_no_client_ip():
    # given a request without a TCP peer (e.g. a Unix socket)
    # when
    client = resolve_client_ip(None, "198.51.100.9", PROXIES)
    # then
    assert client is None


def test_a_peer_that_is_not_an_address_is_never_trusted():
    # given a peer that names no IP address
    # when
    client = resolve_client_ip("unix-socket", "198.51.100.9", PROXIES)
    # then
    assert client == "unix-socket"


# one address, however it is spelled (contract, "Inputs")


@pytest.mark.parametrize(
    ("peer", "client"),
    [
        ("::ffff:198.51.100.9", "198.51.100.9"),
        ("fe80::9%eth0", "fe80::9"),
        ("2001:DB8::9", "2001:db8::9"),
    ],
)
def test_an_untrusted_peer_is_the_client_in_its_one_written_form(peer, client):
    assert resolve_client_ip(peer, None, PROXIES) == client


def test_a_trusted_proxy_spelled_as_an_ipv4_mapped_address_is_trusted():
    # given a proxy in 10.0.0.0/8 that a dual-stack socket reports as ::ffff:10.0.0.2
    # when
    client = resolve_client_ip("::ffff:10.0.0.2", "198.51.100.9", PROXIES)
    # then
    assert client == "198.51.100.9"


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("::ffff:198.51.100.9", "198.51.100.9"),
        ("fe80::9%en0", "fe80::9"),
        ("198.51.100.9, ::ffff:10.0.0.3", "198.51.100.9"),  # a mapped proxy hop is skipped
    ],
)
def test_a_forwarded_hop_is_normalized_and_a_mapped_proxy_hop_is_trusted(forwarded_for, client):
    assert resolve_client_ip("10.0.0.2", forwarded_for, PROXIES) == client
