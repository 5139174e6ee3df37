"""applicableCoupons: the coupons a user could redeem now, best discount first, no write."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from db.queries.redemptions import APPLICABLE
from tests.integration.test_statement_count import counting_statements
from tests.support.callers import CallerClient
from tests.support.database import Database
from tests.support.factories import (
    campaign_with_codes,
    create_timed_coupon,
    create_user_coupon,
    iso,
    now,
    redeem,
    reserve,
)
from tests.support.graphql import GraphQLClient, top_errors

APPLICABLE_COUPONS = """
query ApplicableCoupons($userId: String!, $orderValue: Decimal!, $first: Int) {
  applicableCoupons(userId: $userId, orderValue: $orderValue, first: $first) {
    valid
    discountAmount
    finalAmount
    coupon { code type status }
    errors { code field }
  }
}
"""

VALIDATE_COUPON = """
query ValidateCoupon($input: ValidateCouponInput!) {
  validateCoupon(input: $input) {
    valid
    discountAmount
    finalAmount
    coupon { code type status }
    errors { code field }
  }
}
"""

DEACTIVATE_COUPON = """
mutation Deactivate($id: ID!) { deactivateCoupon(id: $id) { errors { code } } }
"""

DEACTIVATE_CAMPAIGN = """
mutation Deactivate($id: ID!) { deactivateCampaign(id: $id) { errors { code } } }
"""


def applicable(
    gql: GraphQLClient, user_id: str = "alice", order_value: str = "100", **arguments: Any
) -> list[dict[str, Any]]:
    variables = {"userId": user_id, "orderValue": order_value, **arguments}
    found: list[dict[str, Any]] = gql(APPLICABLE_COUPONS, variables)["applicableCoupons"]
    return found


def codes(found: list[dict[str, Any]]) -> list[str]:
    return [entry["coupon"]["code"] for entry in found]


def assign(db: Database, code: str, user_id: str) -> None:
    """What assignCode does: the campaign code now belongs to the user."""
    db.execute("UPDATE coupons SET user_id = $2 WHERE code = $1", code, user_id)


def assigned_code(gql: GraphQLClient, db: Database, user_id: str, **terms: Any) -> str:
    """One code of a new campaign, assigned to `user_id`."""
    _, [code] = campaign_with_codes(gql, db, 1, **terms)
    assign(db, code, user_id)
    return code


def fresh_order() -> str:
    return f"order-{secrets.token_hex(6)}"


def refusal(gql: GraphQLClient, code: str, user_id: str = "alice", value: str = "100") -> str:
    """The error code a redemption on a new order answers, or "" when it succeeds."""
    payload = redeem(gql, code=code, userId=user_id, orderId=fresh_order(), orderValue=value)
    return ",".join(error["code"] for error in payload["errors"])


@pytest.mark.every_answerer
def test_the_best_discount_comes_first(gql, db):
    # given alice's coupons of every kind, on an order of 200.00
    create_timed_coupon(
        gql, code="CAP30", discountType="PERCENTAGE", discountValue="20", maxDiscountAmount="30"
    )
    create_timed_coupon(gql, code="PCT10", discountType="PERCENTAGE", discountValue="10")
    create_timed_coupon(gql, code="FIX20", discountType="FIXED", discountValue="20")
    create_timed_coupon(gql, code="HUGE", discountType="FIXED", discountValue="300")
    mine = create_user_coupon(gql, userId="alice", discountType="FIXED", discountValue="15")
    campaign_code = assigned_code(gql, db, "alice", discountType="FIXED", discountValue="25")
    # when
    found = applicable(gql, order_value="200")
    # then: never more than the order; a cap applies before the order; equal discounts by code
    assert found == [
        entry("HUGE", "TIME_SPECIFIC", "200.00", "0.00"),
        entry("CAP30", "TIME_SPECIFIC", "30.00", "170.00"),
        entry(campaign_code, "CAMPAIGN", "25.00", "175.00"),
        entry("FIX20", "TIME_SPECIFIC", "20.00", "180.00"),
        entry("PCT10", "TIME_SPECIFIC", "20.00", "180.00"),
        entry(mine["code"], "USER_SPECIFIC", "15.00", "185.00"),
    ]


def entry(code: str, kind: str, discount: str, final: str) -> dict[str, Any]:
    return {
        "valid": True,
        "discountAmount": discount,
        "finalAmount": final,
        "coupon": {"code": code, "type": kind, "status": "ACTIVE"},
        "errors": [],
    }


def test_each_entry_is_what_validate_coupon_answers(gql, db):
    # given
    create_timed_coupon(
        gql, code="CAP30", discountType="PERCENTAGE", discountValue="20", maxDiscountAmount="30"
    )
    create_user_coupon(gql, userId="alice", discountType="PERCENTAGE", discountValue="12.5")
    assigned_code(gql, db, "alice", discountType="FIXED", discountValue="7.77")
    # when
    found = applicable(gql, order_value="99.99")
    # then
    assert len(found) == 3
    for listed in found:
        validation = gql(
            VALIDATE_COUPON,
            {"input": {"code": listed["coupon"]["code"], "userId": "alice", "orderValue": "99.99"}},
        )["validateCoupon"]
        assert listed == validation


def arrange_coupons_alice_may_not_redeem(gql: GraphQLClient, db: Database) -> dict[str, str]:
    """Coupons that are alice's or running, that she may not redeem now on an order of
    100.00: code -> the refusal a redemption answers."""
    refused: dict[str, str] = {}
    # other users' coupons, and a campaign code assigned to someone else
    refused[create_user_coupon(gql, userId="bob")["code"]] = "NOT_FOUND"
    refused[assigned_code(gql, db, "bob")] = "NOT_FOUND"
    # paused
    paused = create_user_coupon(gql, userId="alice")
    assert gql(DEACTIVATE_COUPON, {"id": paused["id"]})["deactivateCoupon"]["errors"] == []
    refused[paused["code"]] = "INACTIVE"
    # a window that has closed (unswept: its stored status is still ACTIVE), and one to come
    create_timed_coupon(gql, code="CLOSED")
    db.execute(
        "UPDATE coupons SET valid_from = now() - interval '2 days',"
        " valid_until = now() - interval '1 second' WHERE code = 'CLOSED'"
    )
    refused["CLOSED"] = "EXPIRED"
    create_timed_coupon(
        gql,
        code="LATER",
        validFrom=iso(now() + timedelta(days=1)),
        validUntil=iso(now() + timedelta(days=2)),
    )
    refused["LATER"] = "NOT_YET_VALID"
    # an order below the minimum
    create_timed_coupon(gql, code="MIN150", minOrderValue="150")
    refused["MIN150"] = "MIN_ORDER_VALUE_NOT_MET"
    # used up: her coupon redeemed, her uses of a timed coupon (one redeemed, one held)
    used = create_user_coupon(gql, userId="alice")
    assert refusal(gql, used["code"]) == ""
    refused[used["code"]] = "ALREADY_REDEEMED"
    create_timed_coupon(gql, code="ONCE-USED", maxUsesPerUser=1)
    assert refusal(gql, "ONCE-USED") == ""
    refused["ONCE-USED"] = "USER_LIMIT_REACHED"
    create_timed_coupon(gql, code="ONCE-HELD", maxUsesPerUser=1)
    hold = reserve(gql, code="ONCE-HELD", userId="alice", orderId="held-1", orderValue="100")
    assert hold["errors"] == []
    refused["ONCE-HELD"] = "USER_LIMIT_REACHED"
    # used up by others: the last use held by bob, the last use redeemed by bob
    create_timed_coupon(gql, code="LAST-HELD", maxUsesPerUser=1, maxTotalUses=1)
    hold = reserve(gql, code="LAST-HELD", userId="bob", orderId="held-2", orderValue="100")
    assert hold["errors"] == []
    refused["LAST-HELD"] = "EXHAUSTED"
    create_timed_coupon(gql, code="LAST-USED", maxUsesPerUser=1, maxTotalUses=1)
    assert refusal(gql, "LAST-USED", user_id="bob") == ""
    refused["LAST-USED"] = "EXHAUSTED"
    # a paused campaign pauses its codes
    campaign_id, [code] = campaign_with_codes(gql, db, 1)
    assign(db, code, "alice")
    assert gql(DEACTIVATE_CAMPAIGN, {"id": campaign_id})["deactivateCampaign"]["errors"] == []
    refused[code] = "INACTIVE"
    # a campaign's uses per user, across its codes: she redeemed one from a flyer (not
    # assigned: a user holds one assigned code of a campaign at most), and holds another
    _, [first, second] = campaign_with_codes(gql, db, 2, maxUsesPerUser=1)
    assign(db, second, "alice")
    assert refusal(gql, first) == ""
    refused[first] = "USER_LIMIT_REACHED"
    refused[second] = "USER_LIMIT_REACHED"
    # a campaign's money: 10.00 of 15.00 spent, and her code would take 10.00 more
    _, [spent, over] = campaign_with_codes(
        gql, db, 2, discountType="FIXED", discountValue="10", maxTotalDiscount="15"
    )
    assign(db, over, "alice")
    assert refusal(gql, spent, user_id="bob") == ""
    refused[over] = "EXHAUSTED"
    return refused


def arrange_coupons_alice_may_redeem(gql: GraphQLClient, db: Database) -> set[str]:
    """Coupons alice may redeem now on an order of 100.00, none sharing a limit with another."""
    may: set[str] = set()
    may.add(create_user_coupon(gql, userId="alice")["code"])
    create_timed_coupon(gql, code="RUNNING", discountType="FIXED", discountValue="3")
    may.add("RUNNING")
    # one of two uses taken by her, one of two held by bob: one left for her
    create_timed_coupon(gql, code="TWICE", maxUsesPerUser=2)
    assert refusal(gql, "TWICE") == ""
    may.add("TWICE")
    create_timed_coupon(gql, code="SHARED", maxUsesPerUser=1, maxTotalUses=2)
    assert (
        reserve(gql, code="SHARED", userId="bob", orderId="held-3", orderValue="50")["errors"] == []
    )
    may.add("SHARED")
    # a minimum met exactly
    create_timed_coupon(gql, code="MIN100", minOrderValue="100")
    may.add("MIN100")
    # a campaign's money: 10.00 of 15.00 spent by bob, and her code takes the 5.00 left
    _, [one, two, fits] = campaign_with_codes(
        gql, db, 3, discountType="FIXED", discountValue="5", maxTotalDiscount="15"
    )
    for spent in (one, two):  # redeemed by bob and carol from a flyer
        assert refusal(gql, spent, user_id="bob" if spent == one else "carol") == ""
    assign(db, fits, "alice")
    may.add(fits)
    return may


def test_it_lists_exactly_what_a_redemption_made_at_once_accepts(gql, db):
    # given
    refused = arrange_coupons_alice_may_not_redeem(gql, db)
    may = arrange_coupons_alice_may_redeem(gql, db)
    # and a campaign code nobody has been given: redeemable, but not one of hers
    _, [unassigned] = campaign_with_codes(gql, db, 1)
    # when
    found = applicable(gql, order_value="100", first=100)
    # then what it lists is what she may redeem
    listed = {entry["coupon"]["code"]: entry for entry in found}
    assert set(listed) == may
    assert unassigned not in listed
    # and every coupon left out is refused, for the reason validateCoupon gives
    for code, reason in refused.items():
        assert refusal(gql, code) == reason, code
    # and every coupon listed is redeemed at once, with exactly the listed discount
    for code, quoted in listed.items():
        payload = redeem(gql, code=code, userId="alice", orderId=fresh_order(), orderValue="100")
        assert payload["errors"] == [], (code, payload)
        assert payload["discountAmount"] == quoted["discountAmount"], code
        assert payload["finalAmount"] == quoted["finalAmount"], code


def test_first_caps_the_list(gql):
    # given five coupons, worth 1.00 to 5.00
    for worth in range(1, 6):
        create_timed_coupon(gql, code=f"WORTH-{worth}", discountType="FIXED", discountValue=worth)
    # when / then
    assert codes(applicable(gql, first=2)) == ["WORTH-5", "WORTH-4"]
    assert codes(applicable(gql, first=1)) == ["WORTH-5"]
    assert len(applicable(gql, first=100)) == 5
    assert len(applicable(gql)) == 5  # first defaults to 20


def test_a_user_with_nothing_to_redeem_gets_an_empty_list(gql):
    create_user_coupon(gql, userId="bob")
    assert applicable(gql, user_id="alice") == []


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"first": -1}, "first"),
        ({"first": None}, "first"),
        ({"orderValue": "0"}, "orderValue"),
        ({"orderValue": "-5"}, "orderValue"),
        ({"orderValue": "10.001"}, "orderValue"),
        ({"orderValue": "10000000000.00"}, "orderValue"),
        ({"orderValue": "NaN"}, "orderValue"),
        ({"userId": ""}, "userId"),
        ({"userId": "u" * 101}, "userId"),
    ],
)
def test_bad_arguments_are_invalid_input(gql, arguments, field):
    # given
    create_timed_coupon(gql, code="RUNNING")
    variables = {"userId": "alice", "orderValue": "100", "first": 5, **arguments}
    # when
    response = gql.post(APPLICABLE_COUPONS, variables)
    # then a GraphQL error the client can act on, never a server error
    assert response.status_code == 200, response.text
    assert response.json()["data"] is None
    [error] = top_errors(response)
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": field}
    assert error["path"] == ["applicableCoupons"]


def test_an_order_value_that_is_not_a_number_is_refused_as_validate_coupon_refuses_it(gql):
    response = gql.post(APPLICABLE_COUPONS, {"userId": "alice", "orderValue": "ten"})
    assert response.status_code == 200, response.text
    [error] = top_errors(response)
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


def test_a_storefront_may_ask(keyed_servers, clean_db):
    # given
    admin = CallerClient(keyed_servers["executed"].base_url, "admin")
    create_timed_coupon(admin, code="RUNNING")
    for server in keyed_servers.values():
        storefront = CallerClient(server.base_url, "storefront")
        # when / then
        assert codes(applicable(storefront)) == ["RUNNING"]
        storefront.close()
    admin.close()


WRITTEN = """
SELECT (SELECT count(*) FROM coupon_usages), (SELECT count(*) FROM coupon_reservations),
       (SELECT count(*) FROM guess_counters),
       (SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM coupons c),
       (SELECT md5(string_agg(k::text, ',' ORDER BY k.id)) FROM campaigns k),
       (SELECT md5(string_agg(r::text, ',' ORDER BY r.id)) FROM coupon_reservations r)
"""


def test_it_writes_nothing(gql, db):
    # given coupons of every kind, with uses and holds
    arrange_coupons_alice_may_not_redeem(gql, db)
    arrange_coupons_alice_may_redeem(gql, db)
    before = db.fetch(WRITTEN)
    # when asked for several users and values
    for user_id in ("alice", "bob", "carol"):
        for value in ("1", "100", "1000"):
            applicable(gql, user_id=user_id, order_value=value)
    # then
    assert db.fetch(WRITTEN) == before


def seed_candidates(db: Database, count: int) -> None:
    """`count` coupons alice may redeem: half running timed coupons, half her own."""
    db.execute(
        """
        INSERT INTO coupons (code, type, discount_type, discount_value, valid_from,
                             valid_until, max_uses_per_user)
        SELECT 'TIMED-' || n, 'TIME_SPECIFIC', 'FIXED', n, now() - interval '1 day',
               now() + interval '1 day', 1
        FROM generate_series(1, $1) AS n
        """,
        count // 2,
    )
    db.execute(
        """
        INSERT INTO coupons (code, type, discount_type, discount_value, user_id,
                             max_uses_per_user, max_total_uses)
        SELECT 'USER-' || n, 'USER_SPECIFIC', 'FIXED', n, 'alice', 1, 1
        FROM generate_series(1, $1) AS n
        """,
        count - count // 2,
    )


def test_its_statements_do_not_grow_with_the_candidates(gql, clean_db, server):
    counts = {}
    for candidates in (3, 60):
        # given
        clean_db.execute(
            "TRUNCATE coupon_reservations, coupon_usages, coupons, code_generation_jobs, campaigns"
        )
        seed_candidates(clean_db, candidates)
        # when
        with counting_statements(server) as statements:
            found = applicable(gql, order_value="1000", first=100)
        # then every candidate was checked and listed
        assert len(found) == candidates
        counts[candidates] = len(statements)
    assert counts == {3: 1, 60: 1}


def test_many_coupons_are_not_scanned_through(gql, db):
    # given many users' coupons, redeemed or not, and many timed coupons, few of them running
    db.execute(
        """
        INSERT INTO coupons (code, type, discount_type, discount_value, user_id,
                             max_uses_per_user, max_total_uses, current_total_uses, status)
        SELECT 'USER-' || n, 'USER_SPECIFIC', 'FIXED', 5, 'user-' || n % 5000, 1, 1,
               n % 2, CASE WHEN n % 2 = 1 THEN 'EXHAUSTED' ELSE 'ACTIVE' END::coupon_status
        FROM generate_series(1, 50000) AS n
        """
    )
    db.execute(
        """
        INSERT INTO coupons (code, type, discount_type, discount_value, valid_from,
                             valid_until, max_uses_per_user, status)
        SELECT 'TIMED-' || n, 'TIME_SPECIFIC', 'FIXED', 5, now() - interval '30 days',
               now() + CASE WHEN n % 100 = 0 THEN interval '1 day' ELSE interval '-1 day' END,
               1, CASE WHEN n % 100 = 0 THEN 'ACTIVE' ELSE 'EXPIRED' END::coupon_status
        FROM generate_series(1, 5000) AS n
        """
    )
    db.execute("ANALYZE coupons")
    # when
    statement = (
        str(APPLICABLE)
        .replace(":user_id", "$1")
        .replace(":order_value", "$2")
        .replace(":first", "$3")
        .replace(":guess_subjects", "$4")
        .replace(":guess_limit", "$5")
        .replace(":guess_window", "$6")
    )
    arguments = ("user-42", Decimal("100"), 20, ["user:user-42"], 10, timedelta(minutes=15))
    plan = "\n".join(row[0] for row in db.fetch(f"EXPLAIN {statement}", *arguments))
    # then each branch of candidates is read through an index
    assert "Seq Scan" not in plan, plan
    assert "ix_coupons_user_newest" in plan, plan
    assert len(applicable(gql, user_id="user-42", first=100)) == 10 + 50


def test_a_user_over_the_guessing_limit_is_told_so_and_nothing_is_written(gql, db):
    # given a running coupon, and a user whose guesses are over the limit in this window
    create_timed_coupon(gql, code="RUNNING")
    db.execute(
        "INSERT INTO guess_counters (subject, window_started, failures)"
        " VALUES ('user:mallory', now(), 1000)"
    )
    # when they ask which coupons apply
    response = gql.post(APPLICABLE_COUPONS, {"userId": "mallory", "orderValue": "100"})
    # then RATE_LIMITED, as every redemption of theirs would be now, and no count moved
    assert response.status_code == 200, response.text
    [error] = top_errors(response)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert refusal(gql, "RUNNING", user_id="mallory") == "RATE_LIMITED"
    assert db.value("SELECT failures FROM guess_counters WHERE subject = 'user:mallory'") == 1000
    # and another user still gets the list
    assert codes(applicable(gql, user_id="alice")) == ["RUNNING"]
