"""Holds, redemptions, releases and rollbacks racing over real HTTP against
`coupons serve --workers 2` and `4`.

Every request of a scenario is sent at once, each on its own connection; the workers share
nothing but the database, so every limit and every counter must hold there. The rows are
the judge: afterwards each counter is compared with the rows it counts.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.factories import (
    REDEEM_COUPON,
    RELEASE_RESERVATION,
    RESERVE_COUPON,
    ROLLBACK_REDEMPTION,
    create_campaign,
    create_timed_coupon,
    generate_codes,
    redeem,
)
from tests.support.graphql import GraphQLClient
from tests.support.servers import process_server

pytestmark = pytest.mark.race

Call = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module", params=["2", "4"], ids=lambda n: f"{n}-workers")
def workers_url(request, database_url: str) -> Iterator[str]:
    """Worker processes share nothing but the database, like replicas."""
    with process_server({"DATABASE_URL": database_url}, "--workers", request.param) as server:
        yield server.base_url


@pytest.fixture
def admin(workers_url: str, clean_db) -> Iterator[GraphQLClient]:
    """An admin caller (no keys are set) of the multi-worker server, on empty tables."""
    client = GraphQLClient(workers_url)
    yield client
    client.close()


@asynccontextmanager
async def connections(base_url: str, count: int) -> AsyncIterator[httpx.AsyncClient]:
    """A client that opens a new connection for every request: no two share one."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        yield client


async def call(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The one mutation's payload of an answer that must be 200 with no top-level errors."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    [payload] = body["data"].values()
    assert isinstance(payload, dict), body
    return payload


async def send_all(base_url: str, calls: list[Call]) -> list[dict[str, Any]]:
    """Send every call at once, each on its own connection; answers in the calls' order."""
    async with connections(base_url, len(calls)) as client:
        return list(await asyncio.gather(*(call(client, q, v) for q, v in calls)))


def reserving(**fields: Any) -> Call:
    return RESERVE_COUPON, {"input": fields}


def redeeming(**fields: Any) -> Call:
    return REDEEM_COUPON, {"input": fields}


def releasing(order_id: str) -> Call:
    return RELEASE_RESERVATION, {"orderId": order_id}


def rolling_back(order_id: str) -> Call:
    return ROLLBACK_REDEMPTION, {"input": {"orderId": order_id, "reason": "race"}}


def outcome(payload: dict[str, Any]) -> str:
    return str(payload["errors"][0]["code"]) if payload["errors"] else "OK"


def outcomes(payloads: list[dict[str, Any]]) -> Counter[str]:
    return Counter(outcome(p) for p in payloads)


def assert_counters_match_rows(db) -> None:
    """Every coupon's and every campaign's counters are the usage rows they count."""
    coupons = db.fetch(
        """
        SELECT c.code, c.current_total_uses, c.rolled_back_uses,
               count(u.id) FILTER (WHERE u.rolled_back_at IS NULL) AS live,
               count(u.id) FILTER (WHERE u.rolled_back_at IS NOT NULL) AS rolled_back
        FROM coupons c LEFT JOIN coupon_usages u ON u.coupon_id = c.id
        GROUP BY c.id ORDER BY c.code
        """
    )
    assert coupons
    assert {r["code"]: (r["current_total_uses"], r["rolled_back_uses"]) for r in coupons} == {
        r["code"]: (r["live"], r["rolled_back"]) for r in coupons
    }
    campaigns = db.fetch(
        """
        SELECT k.id, k.total_uses, k.total_discount,
               count(u.id) FILTER (WHERE u.rolled_back_at IS NULL) AS live,
               coalesce(sum(u.discount_applied) FILTER (WHERE u.rolled_back_at IS NULL), 0)
                   AS spent
        FROM campaigns k LEFT JOIN coupon_usages u ON u.campaign_id = k.id
        GROUP BY k.id
        """
    )
    assert {r["id"]: (r["total_uses"], r["total_discount"]) for r in campaigns} == {
        r["id"]: (r["live"], r["spent"]) for r in campaigns
    }
    # A usage's campaign is its coupon's; the order is the key of at most one live usage.
    assert (
        db.value(
            "SELECT count(*) FROM coupon_usages u JOIN coupons c ON c.id = u.coupon_id"
            " WHERE u.campaign_id IS DISTINCT FROM c.campaign_id"
        )
        == 0
    )
    assert (
        db.value(
            "SELECT count(*) FROM (SELECT order_id FROM coupon_usages WHERE rolled_back_at IS NULL"
            " GROUP BY order_id HAVING count(*) > 1) AS twice"
        )
        == 0
    )


def live_holds(db, code: str) -> int:
    return int(
        db.value(
            "SELECT count(*) FROM coupon_reservations r JOIN coupons c ON c.id = r.coupon_id"
            " WHERE c.code = $1 AND r.status = 'HELD' AND r.expires_at > now()",
            code,
        )
    )


def live_usages(db, code: str) -> int:
    return int(
        db.value(
            "SELECT count(*) FROM coupon_usages u JOIN coupons c ON c.id = u.coupon_id"
            " WHERE c.code = $1 AND u.rolled_back_at IS NULL",
            code,
        )
    )


def order(code: str, n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "userId": f"user-{n}",
        "orderId": f"order-{n}",
        "orderValue": "50",
        **overrides,
    }


# 1. Holds racing for the last units.


async def test_200_holds_racing_for_10_uses_get_exactly_10(gql, db, workers_url):
    create_timed_coupon(gql, code="TENHOLDS", maxUsesPerUser=1, maxTotalUses=10)
    payloads = await send_all(workers_url, [reserving(**order("TENHOLDS", n)) for n in range(200)])
    assert outcomes(payloads) == {"OK": 10, "EXHAUSTED": 190}
    held = [p["reservation"] for p in payloads if not p["errors"]]
    assert all(r is not None and r["status"] == "HELD" for r in held)
    assert all(p["reservation"] is None for p in payloads if p["errors"])
    assert db.value("SELECT count(*) FROM coupon_reservations WHERE status = 'HELD'") == 10
    assert db.value("SELECT count(*) FROM coupon_reservations") == 10
    rows = db.fetch("SELECT id::text FROM coupon_reservations")
    assert {row["id"] for row in rows} == {r["id"] for r in held}
    assert db.value("SELECT count(*) FROM coupon_usages") == 0
    assert live_holds(db, "TENHOLDS") == 10
    assert_counters_match_rows(db)


# 2. Holds, redemptions and releases of one coupon, mixed.


KINDS = ("reserve", "reserve+redeem", "redeem", "reserve+release")


async def test_holds_redemptions_and_releases_mixed_never_pass_the_limit(gql, db, workers_url):
    create_timed_coupon(gql, code="MIXED", maxUsesPerUser=1, maxTotalUses=15)
    rng = random.Random(20250601)  # noqa: S311  # a reproducible mix, not a secret
    kinds = [rng.choice(KINDS) for _ in range(60)]

    async def client_steps(client: httpx.AsyncClient, n: int, kind: str) -> list[dict]:
        fields = order("MIXED", n)
        if kind == "redeem":
            return [await call(client, *redeeming(**fields))]
        steps = [await call(client, *reserving(**fields))]
        if kind == "reserve+redeem":
            steps.append(await call(client, *redeeming(**fields)))
        elif kind == "reserve+release":
            steps.append(await call(client, *releasing(fields["orderId"])))
        return steps

    async with connections(workers_url, len(kinds)) as client:
        answers = await asyncio.gather(
            *(client_steps(client, n, kind) for n, kind in enumerate(kinds))
        )

    # Every answer is OK or a typed refusal; a hold that was granted is redeemed or
    # released as asked, and a release without a hold is NOT_FOUND.
    tally: Counter[str] = Counter()
    for kind, steps in zip(kinds, answers, strict=True):
        first = outcome(steps[0])
        assert first in ("OK", "EXHAUSTED"), steps
        tally[f"{kind}:{first}"] += 1
        if kind == "reserve+redeem":
            second = outcome(steps[1])
            assert second in ("OK", "EXHAUSTED"), steps
            if first == "OK":
                assert second == "OK", steps
                assert steps[1]["discountAmount"] == steps[0]["discountAmount"]
            tally[f"{kind}:then-redeem:{second}"] += 1
        elif kind == "reserve+release":
            if first == "OK":
                assert outcome(steps[1]) == "OK", steps
                assert steps[1]["reservation"]["id"] == steps[0]["reservation"]["id"]
                assert steps[1]["reservation"]["status"] == "RELEASED"
            else:
                assert outcome(steps[1]) == "NOT_FOUND", steps

    redeemed_ok = tally["redeem:OK"] + tally["reserve+redeem:then-redeem:OK"]
    held_then_redeemed = tally["reserve+redeem:OK"]
    released = tally["reserve+release:OK"]
    still_held = tally["reserve:OK"]
    assert redeemed_ok + still_held >= 1, tally

    statuses = dict(
        db.fetch("SELECT status::text, count(*) FROM coupon_reservations GROUP BY status")
    )
    assert statuses == {
        s: n
        for s, n in {
            "HELD": still_held,
            "REDEEMED": held_then_redeemed,
            "RELEASED": released,
        }.items()
        if n
    }, tally
    assert db.value("SELECT count(*) FROM coupon_usages") == redeemed_ok
    assert live_usages(db, "MIXED") == redeemed_ok
    assert live_usages(db, "MIXED") + live_holds(db, "MIXED") <= 15
    assert db.value("SELECT current_total_uses FROM coupons WHERE code = 'MIXED'") <= 15
    # A consumed hold points at its usage, of the same order.
    assert (
        db.value(
            "SELECT count(*) FROM coupon_reservations r JOIN coupon_usages u"
            " ON u.id = r.usage_id AND u.order_id = r.order_id WHERE r.status = 'REDEEMED'"
        )
        == held_then_redeemed
    )
    assert_counters_match_rows(db)


# 3. One rollback, fifty times at once.


async def test_50_rollbacks_of_one_order_give_back_exactly_one_use(gql, db, workers_url):
    create_timed_coupon(gql, code="GIVEBACK", maxUsesPerUser=1, maxTotalUses=3)
    usages = [redeem(gql, **order("GIVEBACK", n)) for n in range(3)]
    assert [outcome(p) for p in usages] == ["OK"] * 3
    assert db.value("SELECT current_total_uses FROM coupons") == 3
    usage_id = usages[0]["usage"]["id"]

    payloads = await send_all(workers_url, [rolling_back("order-0") for _ in range(50)])

    assert outcomes(payloads) == {"OK": 50}
    assert {p["usage"]["id"] for p in payloads} == {usage_id}
    assert {p["usage"]["status"] for p in payloads} == {"ROLLED_BACK"}
    assert len({p["usage"]["rolledBackAt"] for p in payloads}) == 1
    rows = db.fetch(
        "SELECT id::text, rolled_back_at FROM coupon_usages WHERE rolled_back_at IS NOT NULL"
    )
    assert [row["id"] for row in rows] == [usage_id]
    assert db.value("SELECT current_total_uses FROM coupons") == 2
    assert db.value("SELECT rolled_back_uses FROM coupons") == 1
    assert db.value("SELECT status::text FROM coupons") == "ACTIVE"
    assert_counters_match_rows(db)


# 4. Rollbacks racing redemptions of the same order.


async def test_rollbacks_racing_redemptions_of_one_order_keep_one_live_usage(gql, db, workers_url):
    create_timed_coupon(gql, code="SEESAW", maxUsesPerUser=1, maxTotalUses=1)
    fields = order("SEESAW", 0)
    first = redeem(gql, **fields)
    assert outcome(first) == "OK"
    calls = [rolling_back("order-0"), redeeming(**fields)] * 20

    payloads = await send_all(workers_url, calls)

    rollbacks, redemptions = payloads[0::2], payloads[1::2]
    assert set(outcomes(rollbacks)) <= {"OK", "NOT_FOUND"}, outcomes(rollbacks)
    # The order was redeemed before the race: a rollback always finds a usage.
    assert outcomes(rollbacks) == {"OK": 20}
    assert {p["usage"]["status"] for p in rollbacks} == {"ROLLED_BACK"}
    # Same code, user and value: a replay of the live usage, or a new one.
    assert outcomes(redemptions) == {"OK": 20}
    rows = db.fetch("SELECT id::text, rolled_back_at FROM coupon_usages WHERE order_id = 'order-0'")
    ids = {row["id"] for row in rows}
    live = {row["id"] for row in rows if row["rolled_back_at"] is None}
    assert len(live) <= 1
    assert {p["usage"]["id"] for p in rollbacks} == ids - live
    assert {p["usage"]["id"] for p in redemptions} | {first["usage"]["id"]} == ids
    assert db.value("SELECT current_total_uses FROM coupons") == len(live)
    assert_counters_match_rows(db)


async def test_a_redemption_and_its_rollback_at_once_for_30_orders(gql, db, workers_url):
    create_timed_coupon(gql, code="PAIRS", maxUsesPerUser=1, maxTotalUses=100)
    calls: list[Call] = []
    for n in range(30):
        calls += [redeeming(**order("PAIRS", n)), rolling_back(f"order-{n}")]

    payloads = await send_all(workers_url, calls)

    redemptions, rollbacks = payloads[0::2], payloads[1::2]
    assert outcomes(redemptions) == {"OK": 30}
    assert set(outcomes(rollbacks)) <= {"OK", "NOT_FOUND"}, outcomes(rollbacks)
    for n, (redeemed, rolled) in enumerate(zip(redemptions, rollbacks, strict=True)):
        assert redeemed["usage"]["orderId"] == f"order-{n}"
        if outcome(rolled) == "OK":  # it ran second: the usage just made
            assert rolled["usage"]["id"] == redeemed["usage"]["id"]
            assert rolled["usage"]["status"] == "ROLLED_BACK"
        else:  # it ran first
            assert rolled["usage"] is None
    rolled_back = outcomes(rollbacks)["OK"]
    assert db.value("SELECT count(*) FROM coupon_usages") == 30
    assert db.value("SELECT count(*) FROM coupon_usages WHERE rolled_back_at IS NOT NULL") == (
        rolled_back
    )
    assert db.value("SELECT current_total_uses FROM coupons") == 30 - rolled_back
    assert_counters_match_rows(db)


async def test_a_hold_redeemed_and_released_at_once_is_used_once(gql, db, workers_url):
    """Either the redemption consumes the hold (the release is then ALREADY_REDEEMED), or
    the release frees it first and the redemption runs every check again."""
    create_timed_coupon(gql, code="CONSUME", maxUsesPerUser=1, maxTotalUses=30)
    holds = await send_all(workers_url, [reserving(**order("CONSUME", n)) for n in range(30)])
    assert outcomes(holds) == {"OK": 30}
    calls: list[Call] = []
    for n in range(30):
        calls += [redeeming(**order("CONSUME", n)), releasing(f"order-{n}")]

    payloads = await send_all(workers_url, calls)

    redemptions, releases = payloads[0::2], payloads[1::2]
    assert outcomes(redemptions) == {"OK": 30}
    assert set(outcomes(releases)) <= {"OK", "ALREADY_REDEEMED"}, outcomes(releases)
    for hold, released in zip(holds, releases, strict=True):
        if outcome(released) == "OK":
            assert released["reservation"]["id"] == hold["reservation"]["id"]
            assert released["reservation"]["status"] == "RELEASED"
    freed = outcomes(releases)["OK"]
    statuses = dict(
        db.fetch("SELECT status::text, count(*) FROM coupon_reservations GROUP BY status")
    )
    assert statuses == {k: v for k, v in {"REDEEMED": 30 - freed, "RELEASED": freed}.items() if v}
    assert db.value("SELECT count(*) FROM coupon_usages") == 30
    assert db.value("SELECT current_total_uses FROM coupons") == 30
    assert_counters_match_rows(db)


# 5. A campaign's money budget.


async def test_100_codes_racing_for_a_budget_of_7_discounts_get_exactly_7(admin, db, workers_url):
    campaign = create_campaign(
        admin, discountType="FIXED", discountValue="5.00", maxTotalDiscount="35.00"
    )
    codes = generate_codes(admin, campaign["id"], 100)
    assert len(codes) == 100

    payloads = await send_all(
        workers_url, [redeeming(**order(code, n)) for n, code in enumerate(codes)]
    )

    assert outcomes(payloads) == {"OK": 7, "EXHAUSTED": 93}
    assert {p["discountAmount"] for p in payloads if not p["errors"]} == {"5.00"}
    row = db.fetch("SELECT total_uses, total_discount, status::text FROM campaigns")[0]
    assert (row["total_uses"], row["total_discount"]) == (7, Decimal("35.00"))
    assert row["status"] == "EXHAUSTED"
    assert db.value("SELECT count(*) FROM coupon_usages") == 7
    assert db.value("SELECT sum(discount_applied) FROM coupon_usages") == Decimal("35.00")
    assert_counters_match_rows(db)


async def test_holds_and_redemptions_racing_for_a_budget_of_7_discounts_get_exactly_7(
    admin, db, workers_url
):
    """A hold counts against the money budget as a redemption does."""
    campaign = create_campaign(
        admin, discountType="FIXED", discountValue="5.00", maxTotalDiscount="35.00"
    )
    codes = generate_codes(admin, campaign["id"], 100)
    calls = [(reserving if n % 2 else redeeming)(**order(code, n)) for n, code in enumerate(codes)]

    payloads = await send_all(workers_url, calls)

    assert outcomes(payloads) == {"OK": 7, "EXHAUSTED": 93}
    redeemed = sum(1 for p in payloads[0::2] if not p["errors"])
    held = sum(1 for p in payloads[1::2] if not p["errors"])
    assert db.value("SELECT count(*) FROM coupon_usages") == redeemed
    assert db.value("SELECT count(*) FROM coupon_reservations WHERE status = 'HELD'") == held
    spent = db.value("SELECT total_discount FROM campaigns")
    holding = db.value(
        "SELECT coalesce(sum(discount_amount), 0) FROM coupon_reservations WHERE status = 'HELD'"
    )
    assert (spent, spent + holding) == (Decimal(5 * redeemed), Decimal("35.00"))
    assert_counters_match_rows(db)


# 6. One order's hold, twenty times at once.


async def test_the_same_hold_20_times_at_once_is_one_reservation_in_every_answer(
    gql, db, workers_url
):
    create_timed_coupon(gql, code="HOLDONCE", maxUsesPerUser=1, maxTotalUses=5)
    fields = order("HOLDONCE", 1, orderValue="80")
    payloads = await send_all(workers_url, [reserving(**fields) for _ in range(20)])
    assert outcomes(payloads) == {"OK": 20}
    ids = {p["reservation"]["id"] for p in payloads}
    assert len(ids) == 1
    assert {p["discountAmount"] for p in payloads} == {"8.00"}
    assert {p["reservation"]["status"] for p in payloads} == {"HELD"}
    rows = db.fetch("SELECT id::text, status::text FROM coupon_reservations")
    assert [(row["id"], row["status"]) for row in rows] == [(ids.pop(), "HELD")]
    assert live_holds(db, "HOLDONCE") == 1
    assert db.value("SELECT count(*) FROM coupon_usages") == 0
    assert_counters_match_rows(db)


# 7. A campaign's per-user limit across holds and redemptions.


async def test_one_user_holding_and_redeeming_20_codes_gets_the_campaign_per_user_limit(
    admin, db, workers_url
):
    campaign = create_campaign(admin, maxUsesPerUser=2)
    codes = generate_codes(admin, campaign["id"], 20)
    calls = [
        (reserving if n % 2 else redeeming)(**order(code, n, userId="greedy"))
        for n, code in enumerate(codes)
    ]

    payloads = await send_all(workers_url, calls)

    assert outcomes(payloads) == {"OK": 2, "USER_LIMIT_REACHED": 18}
    usages = db.value(
        "SELECT count(*) FROM coupon_usages WHERE user_id = 'greedy' AND rolled_back_at IS NULL"
    )
    holds = db.value(
        "SELECT count(*) FROM coupon_reservations WHERE user_id = 'greedy' AND status = 'HELD'"
    )
    assert usages + holds == 2
    assert usages == sum(1 for p in payloads[0::2] if not p["errors"])
    assert holds == sum(1 for p in payloads[1::2] if not p["errors"])
    assert db.value("SELECT total_uses FROM campaigns") == usages
    assert_counters_match_rows(db)
