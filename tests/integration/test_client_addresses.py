"""One client address is one subject, however it is spelled.

Contract, "Inputs": "`ipAddress` is normalised before it is stored or counted: an IPv6 zone
(`%eth0`) is dropped, an IPv4-mapped IPv6 address counts as its IPv4 address. A value that
is not an IP address is INVALID_INPUT. One client address is one subject for the guessing
limit, however it is spelled." The same holds for the address a trusted proxy forwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.factories import REDEEM_COUPON, create_timed_coupon
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, thread_server

VALIDATE = """
query Validate($input: ValidateCouponInput!) {
  validateCoupon(input: $input) { valid errors { code field } }
}
"""
LIMIT = 10  # the contract's default guessing limit
ZONED = [
    ("fe80::1%\u0000", "fe80::1"),  # a zone PostgreSQL's inet would refuse
    ("fe80::1%" + "z" * 300, "fe80::1"),
    ("fe80::1%eth0", "fe80::1"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("::FFFF:203.0.113.9%lo", "203.0.113.9"),
    ("2001:DB8::0:1", "2001:db8::1"),
]


def redeem(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = client(REDEEM_COUPON, {"input": fields})["redeemCoupon"]
    return payload


@pytest.mark.parametrize(("spelled", "stored"), ZONED, ids=repr)
def test_a_forwarded_address_is_stored_in_its_one_written_form(gql, db, spelled, stored):
    # given
    create_timed_coupon(gql, code="ZONE", maxUsesPerUser=5)
    # when
    validated = gql(
        VALIDATE,
        {"input": {"code": "ZONE", "userId": "u", "orderValue": "20", "ipAddress": spelled}},
    )["validateCoupon"]
    redeemed = redeem(
        gql, code="ZONE", userId="u", orderId="o-1", orderValue="20", ipAddress=spelled
    )
    # then
    assert validated == {"valid": True, "errors": []}
    assert redeemed["errors"] == []
    assert redeemed["usage"]["ipAddress"] == stored
    assert db.value("select host(ip_address) from coupon_usages") == stored


@pytest.mark.parametrize("spelled", ["fe80::1%", "203.0.113.9%eth0", "not-an-ip", "%eth0"])
def test_what_is_not_an_address_is_invalid_input_and_writes_nothing(gql, db, spelled):
    # given
    create_timed_coupon(gql, code="ZONE")
    # when
    redeemed = redeem(
        gql, code="ZONE", userId="u", orderId="o-1", orderValue="20", ipAddress=spelled
    )
    # then
    assert [(e["code"], e["field"]) for e in redeemed["errors"]] == [("INVALID_INPUT", "ipAddress")]
    assert db.value("select count(*) from coupon_usages") == 0


def test_changing_only_the_zone_does_not_escape_the_guessing_limit(gql, db):
    # when one address, spelled with a new zone each time, guesses codes for new users
    answers = [
        redeem(
            gql,
            code=f"NOPE-{n}",
            userId=f"user-{n}",
            orderId=f"guess-{n}",
            orderValue="10",
            ipAddress=f"fe80::7%zone{n}",
        )["errors"][0]["code"]
        for n in range(LIMIT + 2)
    ]
    # then it is one subject: the attempts past the limit are refused
    assert answers == ["NOT_FOUND"] * LIMIT + ["RATE_LIMITED"] * 2
    assert db.fetch("select subject, failures from guess_counters where subject like 'ip:%'") == [
        ("ip:fe80::7", LIMIT)
    ]


def test_an_ipv4_address_and_its_mapped_spelling_share_one_count(gql):
    # when guesses alternate between the two spellings of one address
    spellings = ["203.0.113.9", "::ffff:203.0.113.9"]
    answers = [
        gql(
            VALIDATE,
            {
                "input": {
                    "code": f"NOPE-{n}",
                    "userId": f"user-{n}",
                    "orderValue": "10",
                    "ipAddress": spellings[n % 2],
                }
            },
        )["validateCoupon"]["errors"][0]["code"]
        for n in range(LIMIT + 1)
    ]
    # then
    assert answers == ["NOT_FOUND"] * LIMIT + ["RATE_LIMITED"]


@pytest.fixture(scope="module")
def behind_a_proxy(database_url: str) -> Iterator[ThreadServer]:
    """The service behind a trusted reverse proxy at 127.0.0.1 (the test itself)."""
    with thread_server(database_url, trusted_proxies="127.0.0.1") as running:
        yield running


@pytest.mark.parametrize(("forwarded", "stored"), ZONED[2:], ids=repr)
def test_an_address_a_trusted_proxy_forwards_is_normalized_too(
    behind_a_proxy, gql, db, forwarded, stored
):
    # given
    create_timed_coupon(gql, code="PROXIED")
    body = {
        "query": REDEEM_COUPON,
        "variables": {
            "input": {"code": "PROXIED", "userId": "u", "orderId": "o-1", "orderValue": "20"}
        },
    }
    # when
    response = httpx.post(
        f"{behind_a_proxy.base_url}/graphql", json=body, headers={"X-Forwarded-For": forwarded}
    )
    # then
    assert response.json()["data"]["redeemCoupon"]["usage"]["ipAddress"] == stored
