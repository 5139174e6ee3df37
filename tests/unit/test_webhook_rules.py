"""Webhook rules without I/O: endpoint URLs, event types, refused addresses, the retries."""

from __future__ import annotations

import ipaddress

import pytest

from graphql_api.domain.errors import CouponError
from graphql_api.domain.webhooks import (
    EVENT_TYPES,
    WebhookPolicy,
    check_event_types,
    check_webhook_url,
    literal_address,
    refused_address,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/coupons",
        "http://example.com:8080/a?b=c",
        "https://[2001:db8::1]/x",
    ],
)
def test_urls_a_receiver_may_have(url: str) -> None:
    assert check_webhook_url(url).geturl() == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http"),
        ("example.com/hooks", "http"),
        ("https:///nohost", "host"),
        ("https://user:pass@example.com/", "credentials"),
        ("https://token@example.com/", "credentials"),
        ("https://example.com/a b", "spaces"),
        ("https://example.com/\n", "spaces"),
        ("https://example.com:99999/", "URL"),
        ("https://example.com:0/", "port"),
        ("https://example.com/#frag", "fragment"),
        ("http://a..b/", "host name"),
        ("http://" + "a" * 64 + ".example.com/", "host name"),
        ("https://example.com/" + "a" * 2048, "2048"),
    ],
)
def test_urls_refused(url: str, why: str) -> None:
    with pytest.raises(CouponError) as refused:
        check_webhook_url(url)
    assert refused.value.code == "INVALID_INPUT"
    assert refused.value.field == "url"
    assert why in refused.value.message


def test_event_types_are_kept_once_in_the_contracts_order() -> None:
    assert check_event_types(["redemption.succeeded", "coupon.created", "coupon.created"]) == [
        "coupon.created",
        "redemption.succeeded",
    ]
    assert check_event_types(list(EVENT_TYPES)) == list(EVENT_TYPES)


@pytest.mark.parametrize(
    "types", [[], ["redemption.succeeded", "redemption.*"], ["COUPON.CREATED"]]
)
def test_event_types_refused(types: list[str]) -> None:
    with pytest.raises(CouponError) as refused:
        check_event_types(types, "types")
    assert refused.value.field == "types"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # AWS, GCP, Azure metadata
        "fe80::1",
        "fd00:ec2::254",
        "100.100.100.200",  # Alibaba metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",  # noqa: S104  # an address judged, not bound
        "::",
        "224.0.0.1",
        "::ffff:127.0.0.1",  # loopback written as IPv6
        "::ffff:169.254.169.254",
        "192.0.2.1",  # documentation
        "240.0.0.1",  # reserved
        "64:ff9b::a9fe:a9fe",  # NAT64 to the metadata service
        "64:ff9b:1::7f00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::ffff:0:7f00:1",  # IPv4-translated
        "::7f00:1",  # IPv4-compatible
        "fec0::1",  # site-local
    ],
)
def test_addresses_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_allowed(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address)) is None


def test_the_default_retries_start_within_ten_seconds_and_last_over_a_day() -> None:
    policy = WebhookPolicy()
    first = policy.retry_after(1)
    assert first is not None
    assert first.total_seconds() <= 10
    delays = [policy.retry_after(n) for n in range(1, len(policy.retry_seconds) + 1)]
    assert all(d is not None for d in delays)
    assert sum(d.total_seconds() for d in delays if d) >= 24 * 3600
    assert delays == sorted(d for d in delays if d)  # growing
    assert policy.retry_after(len(policy.retry_seconds) + 1) is None  # then FAILED


def test_a_lease_outlasts_a_batch() -> None:
    policy = WebhookPolicy(timeout=10)
    # a batch starts no attempt after `timeout` and each lasts at most `timeout`
    assert policy.lease_seconds > 2 * policy.timeout


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
    ],
)
def test_a_host_written_as_an_address_is_read_as_the_c_library_reads_it(
    host: str, address: str
) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "hooks.example.com", "1.2.3.example"])
def test_a_host_name_is_no_address(host: str) -> None:
    assert literal_address(host) is None
