"""A database that hangs instead of refusing: packets dropped, sockets left open.

Contract, "Access, limits and operations": on a database outage "requests fail fast with
extensions.code = SERVICE_UNAVAILABLE (no hang past 5 s), /health answers 503, and the
service recovers by itself when the database is back". A refused connection fails at once;
a hanging one fails only by a timeout, and a request may wait on several in turn, so the
service bounds each request by one deadline (COUPONS_REQUEST_TIMEOUT). Between the service
and PostgreSQL sits a TCP proxy process that the test tells to stop forwarding.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graphql_api.settings import Settings
from tests.support.factories import REDEEM_COUPON, create_timed_coupon
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, thread_server
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

CONTRACT_BOUND_SECONDS = 5.0  # "no hang past 5 s"
REQUEST_TIMEOUT = 2.0  # the deadline these servers run with, well inside the bound

LOOKUP = "query Lookup($code: String!) { couponByCode(code: $code) { code status } }"
LOOKUP_TWICE = '{ a: couponByCode(code: "HANG") { code } b: coupon(id: "%s") { code } }'
VALIDATE = """query Validate($input: ValidateCouponInput!) {
  validateCoupon(input: $input) { valid errors { code } } }"""
LISTS = """{ activeCampaigns(first: 5) { totalCount edges { node { code
  usages(first: 2) { totalCount } } } } }"""
CREATE = """mutation { createUserCoupon(input: {userId: "hang", discountType: FIXED,
  discountValue: "1"}) { coupon { code } errors { code } } }"""


def requests(coupon_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every kind of request, each of which needs the database."""
    redeem = {"code": "HANG", "userId": "u-hang", "orderId": "o-hang", "orderValue": "20"}
    return [
        ("compiled-lookup", {"query": LOOKUP, "variables": {"code": "HANG"}}),
        ("compiled-redemption", {"query": REDEEM_COUPON, "variables": {"input": redeem}}),
        ("two-lookups", {"query": LOOKUP_TWICE % coupon_id}),
        (
            "validation",
            {
                "query": VALIDATE,
                "variables": {"input": {"code": "HANG", "userId": "u", "orderValue": "20"}},
            },
        ),
        ("nested-lists", {"query": LISTS}),
        ("creation", {"query": CREATE}),
    ]


@pytest.fixture(scope="module")
def proxy(database_url: str) -> Iterator[TcpProxy]:
    host, port = _host_and_port(database_url)
    with tcp_proxy(host, port) as running:
        yield running


def _host_and_port(database_url: str) -> tuple[str, int]:
    url = httpx.URL(database_url.replace("postgresql://", "http://", 1))
    return url.host or "127.0.0.1", url.port or 5432


@pytest.fixture(
    scope="module",
    params=[
        {"request_timeout": REQUEST_TIMEOUT},
        {"request_timeout": REQUEST_TIMEOUT, "compiled_operations": False},
        {},  # every timeout at its default: the bound must hold as shipped
    ],
    ids=["compiled", "executed", "defaults"],
)
def hung_server(request, proxy, database_url) -> Iterator[ThreadServer]:
    """The service reaching its database through the proxy."""
    with thread_server(proxy.url_for(database_url), **request.param) as server:
        yield server


async def timed(client: httpx.AsyncClient, name: str, body: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    response = await client.post("/graphql", json=body, headers={"X-Request-ID": f"hang-{name}"})
    return {
        "name": name,
        "elapsed": time.monotonic() - started,
        "status": response.status_code,
        "body": response.json(),
        "request_id": response.headers["x-request-id"],
    }


def test_every_request_answers_unavailable_within_the_bound_and_then_recovers(
    hung_server, proxy, gql, db, caplog
):
    # given a campaign, reached through the proxy
    coupon = create_timed_coupon(gql, code="HANG", maxUsesPerUser=5)
    client = GraphQLClient(hung_server.base_url)
    assert client(LOOKUP, {"code": "HANG"}) == {
        "couponByCode": {"code": "HANG", "status": "ACTIVE"}
    }

    # when the database stops answering, without refusing anything
    proxy.hang()
    try:

        async def all_at_once() -> list[dict[str, Any]]:
            async with httpx.AsyncClient(base_url=hung_server.base_url, timeout=30) as http:
                return await asyncio.gather(
                    *(timed(http, name, body) for name, body in requests(coupon["id"]))
                )

        with caplog.at_level(logging.WARNING, logger="graphql_api.errors"):
            answers = asyncio.run(all_at_once())
            started = time.monotonic()
            health = httpx.get(f"{hung_server.base_url}/health", timeout=30)
            health_elapsed = time.monotonic() - started
    finally:
        proxy.resume()

    # then each answered within the contract's bound, as unavailable, with its request id
    assert len(answers) == len(requests(coupon["id"]))
    for answer in answers:
        assert answer["elapsed"] < CONTRACT_BOUND_SECONDS, answer
        assert answer["status"] == 200, answer
        errors = answer["body"]["errors"]
        assert {e["extensions"]["code"] for e in errors} == {"SERVICE_UNAVAILABLE"}, answer
        assert {e["extensions"]["requestId"] for e in errors} == {answer["request_id"]}
    assert health.status_code == 503
    assert health_elapsed < CONTRACT_BOUND_SECONDS
    # and each request failed once, not once per path: one log line per request id
    logged = Counter(
        getattr(record, "request_id", None)
        for record in caplog.records
        if record.name == "graphql_api.errors"
    )
    for answer in answers:
        assert logged[answer["request_id"]] >= 1, (answer["name"], logged)
    assert logged["hang-compiled-redemption"] == 1
    assert logged["hang-compiled-lookup"] == 1

    # when the database answers again, then the service recovers by itself
    deadline = time.monotonic() + 30
    while httpx.get(f"{hung_server.base_url}/health", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)
    redeemed = client(
        REDEEM_COUPON,
        {
            "input": {
                "code": "HANG",
                "userId": "after",
                "orderId": f"after-{hung_server.base_url}",
                "orderValue": "20",
            }
        },
    )["redeemCoupon"]
    assert redeemed["errors"] == []
    # and no redemption was half-written: the count equals the usage rows
    assert db.value("select current_total_uses from coupons where code = 'HANG'") == db.value(
        "select count(*) from coupon_usages u join coupons c on c.id = u.coupon_id"
        " where c.code = 'HANG'"
    )
    client.close()


def test_the_default_deadline_is_inside_the_contracts_bound():
    assert Settings.model_fields["request_timeout"].default < CONTRACT_BOUND_SECONDS
