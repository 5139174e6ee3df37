"""Simultaneous redemptions over real HTTP against `coupons serve --workers 2` and `4`.

Every limit must hold because the database enforces it: the two worker processes share
nothing else.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.support.factories import REDEEM_COUPON, create_timed_coupon, create_user_coupon
from tests.support.servers import process_server

pytestmark = pytest.mark.race


@pytest.fixture(scope="module", params=["2", "4"], ids=lambda n: f"{n}-workers")
def workers_url(request, database_url: str) -> Iterator[str]:
    """Worker processes share nothing but the database, like replicas."""
    with process_server({"DATABASE_URL": database_url}, "--workers", request.param) as server:
        yield server.base_url


async def redeem_all(base_url: str, inputs: list[dict]) -> list[dict]:
    """Send every redemption at once, each on its own connection; all must answer 200."""
    limits = httpx.Limits(max_connections=len(inputs), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(
            *(
                client.post("/graphql", json={"query": REDEEM_COUPON, "variables": {"input": i}})
                for i in inputs
            )
        )
    assert [r.status_code for r in responses] == [200] * len(inputs)
    bodies = [r.json() for r in responses]
    assert all("errors" not in body for body in bodies), bodies
    return [body["data"]["redeemCoupon"] for body in bodies]


def outcomes(payloads: list[dict]) -> Counter[str]:
    return Counter(p["errors"][0]["code"] if p["errors"] else "OK" for p in payloads)


def assert_counts_match_rows(db) -> None:
    """Every coupon's count is its usage rows; there must be coupons to compare."""
    rows = db.fetch(
        """
        SELECT c.code, c.current_total_uses, count(u.id) AS usages
        FROM coupons c LEFT JOIN coupon_usages u ON u.coupon_id = c.id
        GROUP BY c.id ORDER BY c.code
        """
    )
    assert rows
    counts = {row["code"]: row["current_total_uses"] for row in rows}
    assert counts == {row["code"]: row["usages"] for row in rows}


async def test_200_users_racing_for_10_uses_get_exactly_10(gql, db, workers_url):
    # given
    create_timed_coupon(gql, code="TENUSES", maxUsesPerUser=1, maxTotalUses=10)
    # when
    payloads = await redeem_all(
        workers_url,
        [
            {"code": "TENUSES", "userId": f"user-{n}", "orderId": f"order-{n}", "orderValue": "50"}
            for n in range(200)
        ],
    )
    # then
    assert outcomes(payloads) == {"OK": 10, "EXHAUSTED": 190}
    assert db.value("SELECT count(*) FROM coupon_usages") == 10
    assert db.value("SELECT status::text FROM coupons") == "EXHAUSTED"
    assert_counts_match_rows(db)


async def test_one_user_with_50_orders_gets_max_uses_per_user(gql, db, workers_url):
    create_timed_coupon(gql, code="THREE", maxUsesPerUser=3)
    payloads = await redeem_all(
        workers_url,
        [
            {"code": "THREE", "userId": "greedy", "orderId": f"order-{n}", "orderValue": "50"}
            for n in range(50)
        ],
    )
    assert outcomes(payloads) == {"OK": 3, "USER_LIMIT_REACHED": 47}
    assert db.value("SELECT count(*) FROM coupon_usages WHERE user_id = 'greedy'") == 3
    assert_counts_match_rows(db)


async def test_a_user_coupon_with_30_orders_is_used_once(gql, db, workers_url):
    coupon = create_user_coupon(gql, userId="alice")
    payloads = await redeem_all(
        workers_url,
        [
            {"code": coupon["code"], "userId": "alice", "orderId": f"order-{n}", "orderValue": "50"}
            for n in range(30)
        ],
    )
    assert outcomes(payloads) == {"OK": 1, "ALREADY_REDEEMED": 29}
    assert db.value("SELECT count(*) FROM coupon_usages") == 1
    assert_counts_match_rows(db)


async def test_the_same_order_20_times_at_once_is_one_usage_in_every_answer(gql, db, workers_url):
    create_timed_coupon(gql, code="ONCE", maxUsesPerUser=5)
    request = {"code": "ONCE", "userId": "bob", "orderId": "order-1", "orderValue": "80"}
    payloads = await redeem_all(workers_url, [dict(request) for _ in range(20)])
    assert outcomes(payloads) == {"OK": 20}
    usage_ids = {p["usage"]["id"] for p in payloads}
    assert len(usage_ids) == 1
    assert {p["discountAmount"] for p in payloads} == {"8.00"}
    assert db.value("SELECT count(*) FROM coupon_usages") == 1
    assert db.value("SELECT id::text FROM coupon_usages") == usage_ids.pop()
    assert_counts_match_rows(db)


async def test_one_order_with_10_coupons_at_once_gets_exactly_one(gql, db, workers_url):
    codes = [f"RIVAL{n}" for n in range(10)]
    for code in codes:
        create_timed_coupon(gql, code=code, maxUsesPerUser=5)
    payloads = await redeem_all(
        workers_url,
        [
            {"code": code, "userId": "carol", "orderId": "the-order", "orderValue": "30"}
            for code in codes
        ],
    )
    assert outcomes(payloads) == {"OK": 1, "ORDER_ALREADY_USED": 9}
    assert db.value("SELECT count(*) FROM coupon_usages") == 1
    assert db.value("SELECT sum(current_total_uses) FROM coupons") == 1
    assert_counts_match_rows(db)
