"""assignCode: one free code of a campaign, bound to the user and answered; the same code
again for the same user; EXHAUSTED when none is left. Simultaneous calls never hand one
code to two users. An assigned code belongs to its user as a USER_SPECIFIC coupon does."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from alembic import command

from db.migrate import alembic_config, upgrade_to_head
from tests.support.callers import CallerClient
from tests.support.database import Database, throwaway_database
from tests.support.factories import (
    campaign_with_codes,
    iso,
    now,
    redeem,
    reserve,
    rollback,
)
from tests.support.graphql import GraphQLClient, assert_error_answer
from tests.support.servers import process_server

ASSIGN_CODE = """
mutation AssignCode($input: AssignCodeInput!) {
  assignCode(input: $input) {
    coupon { id code type userId status currentTotalUses discountType discountValue }
    errors { code field message }
  }
}
"""

USER_COUPONS = """
query UserCoupons($userId: String!) {
  userCoupons(userId: $userId) { totalCount edges { node { code type userId } } }
}
"""

MISSING_CAMPAIGN = "00000000-0000-4000-8000-000000000000"


def assign(gql: GraphQLClient, campaign_id: str, user_id: str) -> dict[str, Any]:
    variables = {"input": {"campaignId": campaign_id, "userId": user_id}}
    payload: dict[str, Any] = gql(ASSIGN_CODE, variables)["assignCode"]
    return payload


def assigned(gql: GraphQLClient, campaign_id: str, user_id: str) -> dict[str, Any]:
    payload = assign(gql, campaign_id, user_id)
    assert payload["errors"] == [], payload["errors"]
    coupon: dict[str, Any] = payload["coupon"]
    return coupon


def refusal(payload: dict[str, Any]) -> tuple[str, str | None]:
    assert payload["coupon"] is None, payload
    [error] = payload["errors"]
    return error["code"], error["field"]


def holders(db: Database, campaign_id: str) -> dict[str, str]:
    """code -> user of the campaign's assigned codes, as the rows say."""
    rows = db.fetch(
        "SELECT code, user_id FROM coupons WHERE campaign_id = $1::uuid AND user_id IS NOT NULL",
        campaign_id,
    )
    return {row["code"]: row["user_id"] for row in rows}


def assert_one_code_per_user_and_one_user_per_code(db: Database) -> None:
    """Every assigned code has one user (a column), and no user two codes of a campaign."""
    doubled = db.value(
        "SELECT count(*) FROM (SELECT campaign_id, user_id FROM coupons"
        " WHERE campaign_id IS NOT NULL AND user_id IS NOT NULL"
        " GROUP BY campaign_id, user_id HAVING count(*) > 1) AS d"
    )
    assert doubled == 0


# --- handing out codes ---


def test_a_free_code_is_bound_to_the_user_and_answered(gql, db):
    # given
    campaign_id, codes = campaign_with_codes(gql, db, 3)
    # when
    coupon = assigned(gql, campaign_id, "alice")
    # then
    assert coupon["code"] in codes
    assert coupon["type"] == "CAMPAIGN"
    assert coupon["userId"] == "alice"
    assert coupon["status"] == "ACTIVE"
    assert coupon["currentTotalUses"] == 0
    assert holders(db, campaign_id) == {coupon["code"]: "alice"}


def test_the_same_user_asking_again_gets_the_same_code(gql, db):
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 3)
    first = assigned(gql, campaign_id, "alice")
    # when
    again = assigned(gql, campaign_id, "alice")
    # then
    assert again == first
    assert holders(db, campaign_id) == {first["code"]: "alice"}


def test_different_users_get_different_codes_until_none_is_left(gql, db):
    # given
    campaign_id, codes = campaign_with_codes(gql, db, 2)
    # when
    alice = assigned(gql, campaign_id, "alice")
    bob = assigned(gql, campaign_id, "bob")
    carol = assign(gql, campaign_id, "carol")
    # then
    assert {alice["code"], bob["code"]} == set(codes)
    assert refusal(carol) == ("EXHAUSTED", "campaignId")
    # and a user who has one still gets it
    assert assigned(gql, campaign_id, "alice") == alice


def test_codes_are_handed_out_oldest_first(gql, db):
    # given two codes, one written a minute before the other
    campaign_id, [older, newer] = campaign_with_codes(gql, db, 2)
    db.execute(
        "UPDATE coupons SET created_at = created_at - interval '1 minute' WHERE code = $1", older
    )
    # when / then
    assert assigned(gql, campaign_id, "alice")["code"] == older
    assert assigned(gql, campaign_id, "bob")["code"] == newer


def test_a_user_gets_one_code_of_each_campaign(gql, db):
    # given
    spring, spring_codes = campaign_with_codes(gql, db, 1)
    autumn, autumn_codes = campaign_with_codes(gql, db, 1, name="Autumn sale")
    # when
    first = assigned(gql, spring, "alice")
    second = assigned(gql, autumn, "alice")
    # then
    assert (first["code"], second["code"]) == (spring_codes[0], autumn_codes[0])


def test_a_redeemed_code_is_never_handed_out(gql, db):
    # given a campaign of two codes, one redeemed by its code (no assignment)
    campaign_id, [used, free] = campaign_with_codes(gql, db, 2, maxUsesPerCode=2)
    payload = redeem(gql, code=used, userId="walk-in", orderId="o-1", orderValue="20")
    assert payload["errors"] == [], payload["errors"]
    # when
    first = assigned(gql, campaign_id, "alice")
    second = assign(gql, campaign_id, "bob")
    # then the used one, which still has a use left, is not given out
    assert first["code"] == free
    assert refusal(second) == ("EXHAUSTED", "campaignId")


def test_a_code_redeemed_and_rolled_back_is_never_handed_out(gql, db):
    # given a code redeemed, then rolled back: its one use is back, but someone has it
    campaign_id, [code] = campaign_with_codes(gql, db, 1)
    assert redeem(gql, code=code, userId="walk-in", orderId="o-1", orderValue="20")["errors"] == []
    assert rollback(gql, "o-1")["errors"] == []
    # when
    payload = assign(gql, campaign_id, "alice")
    # then
    assert refusal(payload) == ("EXHAUSTED", "campaignId")


def test_a_held_code_is_never_handed_out_and_once_the_hold_expires_it_is(gql, db):
    # given a campaign of one code, held for an order
    campaign_id, [code] = campaign_with_codes(gql, db, 1)
    held = reserve(gql, code=code, userId="walk-in", orderId="o-1", orderValue="20")
    assert held["errors"] == [], held["errors"]
    # when / then
    assert refusal(assign(gql, campaign_id, "alice")) == ("EXHAUSTED", "campaignId")
    # and when the hold has expired (no sweep has written it down), the code is free
    db.execute(
        "UPDATE coupon_reservations SET created_at = created_at - interval '2 hours',"
        " expires_at = now() - interval '1 second' WHERE order_id = 'o-1'"
    )
    assert assigned(gql, campaign_id, "alice")["code"] == code


def test_a_code_paused_on_its_own_is_never_handed_out(gql, db):
    # given
    campaign_id, [code] = campaign_with_codes(gql, db, 1)
    db.execute("UPDATE coupons SET status = 'INACTIVE' WHERE code = $1", code)
    # when / then
    assert refusal(assign(gql, campaign_id, "alice")) == ("EXHAUSTED", "campaignId")


def test_a_campaign_that_has_not_started_hands_out_codes(gql, db):
    # given a campaign whose window opens tomorrow
    campaign_id, codes = campaign_with_codes(
        gql,
        db,
        1,
        validFrom=iso(now() + timedelta(days=1)),
        validUntil=iso(now() + timedelta(days=2)),
    )
    # when
    coupon = assigned(gql, campaign_id, "alice")
    # then the code is the user's, and redeeming it waits for the window
    assert coupon["code"] == codes[0]
    payload = redeem(gql, code=codes[0], userId="alice", orderId="o-1", orderValue="20")
    assert [e["code"] for e in payload["errors"]] == ["NOT_YET_VALID"]


# --- an assigned code belongs to its user ---


def test_another_users_redemption_of_an_assigned_code_is_not_found(gql, db):
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 1)
    code = assigned(gql, campaign_id, "alice")["code"]
    # when
    payload = redeem(gql, code=code, userId="mallory", orderId="o-1", orderValue="20")
    # then
    assert payload["usage"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "code")]
    assert db.value("SELECT count(*) FROM coupon_usages") == 0


def test_its_users_redemption_of_an_assigned_code_is_recorded(gql, db):
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 1)
    code = assigned(gql, campaign_id, "alice")["code"]
    # when
    payload = redeem(gql, code=code, userId="alice", orderId="o-1", orderValue="20")
    # then
    assert payload["errors"] == []
    assert payload["usage"]["coupon"]["code"] == code
    assert payload["discountAmount"] == "5.00"


def test_another_users_hold_of_an_assigned_code_is_not_found(gql, db):
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 1)
    code = assigned(gql, campaign_id, "alice")["code"]
    # when
    payload = reserve(gql, code=code, userId="mallory", orderId="o-1", orderValue="20")
    # then
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "code")]


def test_user_coupons_lists_assigned_codes_beside_the_users_own_coupons(gql, db):
    # given a USER_SPECIFIC coupon of alice's and a code of each of two campaigns
    own = gql(
        'mutation { createUserCoupon(input: {userId: "alice", discountType: FIXED,'
        ' discountValue: "3"}) { coupon { code } errors { code } } }'
    )["createUserCoupon"]["coupon"]["code"]
    spring, _ = campaign_with_codes(gql, db, 2)
    autumn, _ = campaign_with_codes(gql, db, 2, name="Autumn sale")
    first = assigned(gql, spring, "alice")["code"]
    second = assigned(gql, autumn, "alice")["code"]
    assigned(gql, spring, "bob")
    # when
    listed = gql(USER_COUPONS, {"userId": "alice"})["userCoupons"]
    # then
    assert listed["totalCount"] == 3
    nodes = [edge["node"] for edge in listed["edges"]]
    assert {(n["code"], n["type"], n["userId"]) for n in nodes} == {
        (own, "USER_SPECIFIC", "alice"),
        (first, "CAMPAIGN", "alice"),
        (second, "CAMPAIGN", "alice"),
    }


# --- refusals: typed errors in the payload, nothing written ---


@pytest.mark.parametrize(
    ("campaign_id", "user_id", "field"),
    [
        ("not-a-uuid", "alice", "campaignId"),
        ("", "alice", "campaignId"),
        (None, "", "userId"),
        (None, "   ", "userId"),
        (None, "u" * 101, "userId"),
        (None, "line\nbreak", "userId"),
    ],
)
def test_bad_input_is_invalid_input(gql, db, campaign_id, user_id, field):
    # given
    real_id, _ = campaign_with_codes(gql, db, 1)
    # when
    payload = assign(gql, real_id if campaign_id is None else campaign_id, user_id)
    # then
    assert refusal(payload) == ("INVALID_INPUT", field)
    assert holders(db, real_id) == {}


def test_an_unknown_campaign_is_not_found(gql, db):
    # when
    payload = assign(gql, MISSING_CAMPAIGN, "alice")
    # then
    assert refusal(payload) == ("NOT_FOUND", "campaignId")


def test_a_paused_campaign_is_inactive(gql, db):
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 1)
    db.execute("UPDATE campaigns SET status = 'INACTIVE' WHERE id = $1::uuid", campaign_id)
    # when / then
    assert refusal(assign(gql, campaign_id, "alice")) == ("INACTIVE", "campaignId")
    assert holders(db, campaign_id) == {}


def test_a_campaign_whose_window_has_closed_is_expired(gql, db):
    # given
    campaign_id, _ = campaign_with_codes(gql, db, 1)
    db.execute(
        "UPDATE campaigns SET valid_from = now() - interval '2 days',"
        " valid_until = now() - interval '1 day' WHERE id = $1::uuid",
        campaign_id,
    )
    # when / then
    assert refusal(assign(gql, campaign_id, "alice")) == ("EXPIRED", "campaignId")
    assert holders(db, campaign_id) == {}


@pytest.mark.parametrize(
    "spend",
    [
        "UPDATE campaigns SET total_uses = max_total_uses WHERE id = $1::uuid",
        "UPDATE campaigns SET total_discount = max_total_discount WHERE id = $1::uuid",
    ],
    ids=["uses", "money"],
)
def test_a_campaign_whose_budget_is_spent_is_exhausted(gql, db, spend):
    # given a campaign with codes left but its budget of uses or of money spent
    campaign_id, _ = campaign_with_codes(gql, db, 3, maxTotalUses=2, maxTotalDiscount="10")
    db.execute(spend, campaign_id)
    # when / then
    assert refusal(assign(gql, campaign_id, "alice")) == ("EXHAUSTED", "campaignId")
    assert holders(db, campaign_id) == {}


def test_a_user_who_has_a_code_gets_it_again_even_once_the_campaign_is_paused(gql, db):
    # given alice's code, then the campaign paused
    campaign_id, _ = campaign_with_codes(gql, db, 1)
    code = assigned(gql, campaign_id, "alice")["code"]
    db.execute("UPDATE campaigns SET status = 'INACTIVE' WHERE id = $1::uuid", campaign_id)
    # when she asks again (a retry whose first answer was lost, say)
    payload = assign(gql, campaign_id, "alice")
    # then she learns her code, with the status that says it cannot be used now
    assert payload["errors"] == []
    assert payload["coupon"]["code"] == code
    assert payload["coupon"]["status"] == "INACTIVE"
    assert holders(db, campaign_id) == {code: "alice"}
    # and another user is refused
    assert refusal(assign(gql, campaign_id, "bob")) == ("INACTIVE", "campaignId")


# --- who may call ---


@pytest.mark.parametrize("path", ["compiled", "executed"])
@pytest.mark.parametrize("role", ["storefront", "admin"])
def test_storefront_and_admin_keys_may_assign(keyed_servers, clean_db, role, path):
    # given
    client = CallerClient(keyed_servers[path].base_url, role)
    try:
        campaign_id, _ = campaign_with_codes(client, clean_db, 1)
        # when
        coupon = assigned(client, campaign_id, "alice")
    finally:
        client.close()
    # then
    assert coupon["userId"] == "alice"


def test_a_call_without_a_key_is_refused_before_anything_runs(keyed_servers, clean_db):
    # given
    admin = CallerClient(keyed_servers["executed"].base_url, "admin")
    try:
        campaign_id, _ = campaign_with_codes(admin, clean_db, 1)
    finally:
        admin.close()
    variables = {"input": {"campaignId": campaign_id, "userId": "alice"}}
    # when
    response = httpx.post(
        f"{keyed_servers['executed'].base_url}/graphql",
        json={"query": ASSIGN_CODE, "variables": variables},
        timeout=30,
    )
    # then
    assert_error_answer(response, 401, "UNAUTHENTICATED")
    assert holders(clean_db, campaign_id) == {}


# --- simultaneous calls, against replicas that share nothing but the database ---


@pytest.fixture(scope="module")
def workers_url(database_url: str) -> Iterator[str]:
    with process_server({"DATABASE_URL": database_url}, "--workers", "2") as server:
        yield server.base_url


@pytest.fixture
def admin(workers_url: str, clean_db: Database) -> Iterator[GraphQLClient]:
    client = GraphQLClient(workers_url)
    yield client
    client.close()


async def _send_all(base_url: str, calls: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every (campaign, user) call at once, each on its own connection; in their order."""
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def one(campaign_id: str, user_id: str) -> dict[str, Any]:
            variables = {"input": {"campaignId": campaign_id, "userId": user_id}}
            response = await client.post(
                "/graphql", json={"query": ASSIGN_CODE, "variables": variables}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert "errors" not in body, body
            payload: dict[str, Any] = body["data"]["assignCode"]
            return payload

        return list(await asyncio.gather(*(one(k, u) for k, u in calls)))


def send_all(base_url: str, calls: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return asyncio.run(_send_all(base_url, calls))


def outcomes(payloads: list[dict[str, Any]]) -> Counter[str]:
    return Counter(p["errors"][0]["code"] if p["errors"] else "OK" for p in payloads)


@pytest.mark.race
def test_a_hundred_users_at_once_get_a_hundred_different_codes(admin, workers_url, db):
    # given
    campaign_id, codes = campaign_with_codes(admin, db, 100)
    users = [f"user-{n}" for n in range(100)]
    # when
    payloads = send_all(workers_url, [(campaign_id, user) for user in users])
    # then every user got a code of their own, and the rows say the same
    assert outcomes(payloads) == {"OK": 100}
    answered = {p["coupon"]["userId"]: p["coupon"]["code"] for p in payloads}
    assert set(answered) == set(users)
    assert sorted(answered.values()) == sorted(codes)
    assert holders(db, campaign_id) == {code: user for user, code in answered.items()}
    assert_one_code_per_user_and_one_user_per_code(db)


@pytest.mark.race
def test_one_user_calling_twenty_times_at_once_gets_one_code(admin, workers_url, db):
    # given
    campaign_id, codes = campaign_with_codes(admin, db, 20)
    # when
    payloads = send_all(workers_url, [(campaign_id, "alice")] * 20)
    # then
    assert outcomes(payloads) == {"OK": 20}
    assert len({p["coupon"]["code"] for p in payloads}) == 1
    [code] = {p["coupon"]["code"] for p in payloads}
    assert code in codes
    assert holders(db, campaign_id) == {code: "alice"}


@pytest.mark.race
def test_more_callers_than_codes_leave_the_rest_exhausted(admin, workers_url, db):
    # given 10 codes, and 40 users with some asking twice
    campaign_id, codes = campaign_with_codes(admin, db, 10)
    users = [f"user-{n}" for n in range(40)]
    calls = [(campaign_id, user) for user in users + users[:10]]
    # when
    payloads = send_all(workers_url, calls)
    # then every code went to exactly one user, and everyone else was told EXHAUSTED
    given = holders(db, campaign_id)
    assert sorted(given) == sorted(codes)
    assert len(set(given.values())) == 10
    for (_, user), payload in zip(calls, payloads, strict=True):
        if payload["errors"]:
            assert refusal(payload) == ("EXHAUSTED", "campaignId")
            assert user not in given.values()
        else:
            assert given[payload["coupon"]["code"]] == user
    assert outcomes(payloads)["OK"] >= 10
    assert_one_code_per_user_and_one_user_per_code(db)


@pytest.mark.race
def test_assignments_racing_holds_never_give_a_held_code_away(admin, workers_url, db):
    # given 30 codes; each is held by a walk-in order while 30 users ask for codes
    campaign_id, codes = campaign_with_codes(admin, db, 30)
    hold_calls = [
        (
            "mutation H($input: ReserveCouponInput!) { reserveCoupon(input: $input) {"
            " errors { code } } }",
            {"input": {"code": c, "userId": "walk-in", "orderId": f"o-{c}", "orderValue": "20"}},
        )
        for c in codes
    ]

    async def race() -> None:
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=workers_url, timeout=60, limits=limits) as client:
            holds = [
                client.post("/graphql", json={"query": q, "variables": v}) for q, v in hold_calls
            ]
            users = [
                client.post(
                    "/graphql",
                    json={
                        "query": ASSIGN_CODE,
                        "variables": {"input": {"campaignId": campaign_id, "userId": f"u-{n}"}},
                    },
                )
                for n in range(30)
            ]
            for response in await asyncio.gather(*holds, *users):
                assert response.status_code == 200, response.text
                assert "errors" not in response.json(), response.text

    # when
    asyncio.run(race())
    # then no code is both assigned and held by someone else
    both = db.value(
        "SELECT count(*) FROM coupons c JOIN coupon_reservations r ON r.coupon_id = c.id"
        " WHERE c.campaign_id = $1::uuid AND c.user_id IS NOT NULL AND r.status = 'HELD'"
        " AND r.user_id <> c.user_id",
        campaign_id,
    )
    assert both == 0
    assigned_count = len(holders(db, campaign_id))
    held_count = db.value("SELECT count(*) FROM coupon_reservations WHERE status = 'HELD'")
    assert assigned_count + held_count == 30


# --- the migration ---


def test_migration_0008_goes_down_and_up_again():
    with throwaway_database() as url:
        # given a database at the newest schema
        upgrade_to_head(url)
        database = Database(url)
        # when its assignment revision is undone
        command.downgrade(alembic_config(url), "0007")
        # then the function and both indexes are gone
        assert database.value("SELECT to_regproc('coupon_assign')") is None
        for index in ("uq_coupons_campaign_user", "ix_coupons_campaign_free"):
            assert database.value("SELECT to_regclass($1)", index) is None
        # and it can be done again
        upgrade_to_head(url)
        assert database.value("SELECT to_regproc('coupon_assign')::text") == "coupon_assign"
