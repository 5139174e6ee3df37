"""reserveCoupon: a hold counts against every limit until it is redeemed, released or expires."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.support.database import Database
from tests.support.factories import (
    REDEEM_COUPON,
    RESERVE_COUPON,
    campaign_with_codes,
    create_timed_coupon,
    create_user_coupon,
    redeem,
    reserve,
)
from tests.support.graphql import GraphQLClient

COUPON_COUNTS = """
query CouponCounts($code: String!) {
  couponByCode(code: $code) { currentTotalUses heldUses status }
}
"""

CAMPAIGN_COUNTS = """
query CampaignCounts($id: ID!) {
  campaign(id: $id) { totalUses heldUses totalDiscount status }
}
"""

RESERVATION = """
query Reservation($orderId: String!) {
  reservation(orderId: $orderId) {
    id status userId orderValue discountAmount finalAmount expiresAt coupon { code }
  }
}
"""

VALIDATE_COUPON = """
query ValidateCoupon($input: ValidateCouponInput!) {
  validateCoupon(input: $input) { valid discountAmount errors { code field } }
}
"""

SWEEP = "SELECT order_id, status::text AS status FROM coupon_reservations_expire(1000)"


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def counts(gql: GraphQLClient, code: str) -> dict[str, Any]:
    coupon: dict[str, Any] = gql(COUPON_COUNTS, {"code": code})["couponByCode"]
    return coupon


def campaign_counts(gql: GraphQLClient, campaign_id: str) -> dict[str, Any]:
    campaign: dict[str, Any] = gql(CAMPAIGN_COUNTS, {"id": campaign_id})["campaign"]
    return campaign


def reservation(gql: GraphQLClient, order_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = gql(RESERVATION, {"orderId": order_id})["reservation"]
    return found


def validate(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(VALIDATE_COUPON, {"input": fields})["validateCoupon"]
    return result


def expire_hold(db: Database, order_id: str) -> None:
    """Move the order's live hold back in time so that it has expired (no sweep runs)."""
    db.execute(
        "UPDATE coupon_reservations SET created_at = created_at - interval '2 hours',"
        " expires_at = now() - interval '1 second' WHERE order_id = $1 AND status = 'HELD'",
        order_id,
    )


def hold(gql: GraphQLClient, code: str, user: str, order: str, value: str = "50") -> dict:
    payload = reserve(gql, code=code, userId=user, orderId=order, orderValue=value)
    assert payload["errors"] == [], payload["errors"]
    return payload


# --- a hold counts -------------------------------------------------------------------------


def test_a_hold_answers_the_reservation_and_the_discount(gql, db):
    # given
    create_timed_coupon(gql, code="HOLD10", discountType="PERCENTAGE", discountValue="10")
    # when
    payload = reserve(
        gql, code=" hold10 ", userId="alice", orderId="o-1", orderValue="80", ttlSeconds=600
    )
    # then
    assert payload["errors"] == []
    assert payload["discountAmount"] == "8.00"
    assert payload["finalAmount"] == "72.00"
    held = payload["reservation"]
    assert held["status"] == "HELD"
    assert (held["userId"], held["orderId"], held["orderValue"]) == ("alice", "o-1", "80.00")
    assert (held["discountAmount"], held["finalAmount"]) == ("8.00", "72.00")
    assert held["coupon"]["code"] == "HOLD10"
    assert held["coupon"]["heldUses"] == 1
    assert held["coupon"]["currentTotalUses"] == 0
    assert held["expiresAt"].endswith("+00:00")
    seconds = db.value(
        "SELECT extract(epoch FROM expires_at - created_at) FROM coupon_reservations"
    )
    assert seconds == 600
    assert db.value("SELECT count(*) FROM coupon_usages") == 0


def test_a_hold_records_the_end_users_address_and_agent(gql, db):
    create_timed_coupon(gql, code="WHOSE", maxUsesPerUser=2)
    forwarded = reserve(
        gql,
        code="WHOSE",
        userId="alice",
        orderId="o-1",
        orderValue="50",
        ipAddress="::ffff:203.0.113.5",
        userAgent="Shop/9",
    )
    assert forwarded["errors"] == []
    hold(gql, "WHOSE", "alice", "o-2")
    rows = db.fetch(
        "SELECT host(ip_address) AS ip, user_agent FROM coupon_reservations ORDER BY order_id"
    )
    assert [(row["ip"], row["user_agent"]) for row in rows] == [
        ("203.0.113.5", "Shop/9"),
        ("127.0.0.1", f"python-httpx/{httpx.__version__}"),
    ]


def test_the_default_hold_lasts_900_seconds(gql, db):
    create_timed_coupon(gql, code="DEFAULT")
    hold(gql, "DEFAULT", "alice", "o-1")
    seconds = db.value(
        "SELECT extract(epoch FROM expires_at - created_at) FROM coupon_reservations"
    )
    assert seconds == 900


def test_holds_count_against_the_coupons_total_uses(gql, db):
    # given a coupon of two uses, both held
    create_timed_coupon(gql, code="TWOUSES", maxUsesPerUser=5, maxTotalUses=2)
    hold(gql, "TWOUSES", "alice", "o-1")
    hold(gql, "TWOUSES", "bob", "o-2")
    # when others try to reserve or redeem it
    third = reserve(gql, code="TWOUSES", userId="carol", orderId="o-3", orderValue="50")
    redeemed = redeem(gql, code="TWOUSES", userId="dave", orderId="o-4", orderValue="50")
    # then
    assert error_codes(third) == ["EXHAUSTED"]
    assert third["reservation"] is None
    assert error_codes(redeemed) == ["EXHAUSTED"]
    assert counts(gql, "TWOUSES") == {"currentTotalUses": 0, "heldUses": 2, "status": "ACTIVE"}
    assert db.value("SELECT count(*) FROM coupon_reservations") == 2
    assert db.value("SELECT count(*) FROM coupon_usages") == 0


def test_holds_count_against_the_users_limit(gql):
    # given alice holds her one use
    create_timed_coupon(gql, code="ONEEACH", maxUsesPerUser=1, maxTotalUses=10)
    hold(gql, "ONEEACH", "alice", "o-1")
    # when she tries again on other orders
    again = reserve(gql, code="ONEEACH", userId="alice", orderId="o-2", orderValue="50")
    redeemed = redeem(gql, code="ONEEACH", userId="alice", orderId="o-3", orderValue="50")
    # then she is at her limit, and others are not
    assert error_codes(again) == ["USER_LIMIT_REACHED"]
    assert error_codes(redeemed) == ["USER_LIMIT_REACHED"]
    assert (
        reserve(gql, code="ONEEACH", userId="bob", orderId="o-4", orderValue="50")["errors"] == []
    )


def test_a_held_user_coupon_is_already_redeemed_for_another_order(gql):
    coupon = create_user_coupon(gql, userId="alice")
    hold(gql, coupon["code"], "alice", "o-1")
    payload = reserve(gql, code=coupon["code"], userId="alice", orderId="o-2", orderValue="50")
    assert error_codes(payload) == ["ALREADY_REDEEMED"]


def test_holds_count_against_a_codes_uses_per_code(gql, db):
    _, [code] = campaign_with_codes(gql, db, 1, maxUsesPerCode=1)
    hold(gql, code, "alice", "o-1")
    payload = reserve(gql, code=code, userId="bob", orderId="o-2", orderValue="50")
    assert error_codes(payload) == ["EXHAUSTED"]


def test_holds_count_against_the_campaigns_total_uses(gql, db):
    # given a campaign of two uses in all, held on two of its three codes
    campaign_id, codes = campaign_with_codes(gql, db, 3, maxTotalUses=2)
    hold(gql, codes[0], "alice", "o-1")
    hold(gql, codes[1], "bob", "o-2")
    # when its third code is asked for
    payload = reserve(gql, code=codes[2], userId="carol", orderId="o-3", orderValue="50")
    redeemed = redeem(gql, code=codes[2], userId="carol", orderId="o-4", orderValue="50")
    # then
    assert error_codes(payload) == ["EXHAUSTED"]
    assert error_codes(redeemed) == ["EXHAUSTED"]
    assert campaign_counts(gql, campaign_id)["heldUses"] == 2


def test_holds_count_against_the_campaigns_per_user_limit(gql, db):
    _, codes = campaign_with_codes(gql, db, 2, maxUsesPerUser=1)
    hold(gql, codes[0], "alice", "o-1")
    payload = reserve(gql, code=codes[1], userId="alice", orderId="o-2", orderValue="50")
    assert error_codes(payload) == ["USER_LIMIT_REACHED"]
    assert reserve(gql, code=codes[1], userId="bob", orderId="o-3", orderValue="50")["errors"] == []


def test_held_discounts_count_against_the_money_budget(gql, db):
    # given a budget of 12.00 and codes worth 5.00: two fit, a third would pass it
    campaign_id, codes = campaign_with_codes(gql, db, 3, maxTotalDiscount="12.00")
    hold(gql, codes[0], "alice", "o-1")
    hold(gql, codes[1], "bob", "o-2")
    # when
    payload = reserve(gql, code=codes[2], userId="carol", orderId="o-3", orderValue="50")
    # then
    assert error_codes(payload) == ["EXHAUSTED"]
    # and a discount that still fits (2.00 on a 2.00 order) is held
    small = reserve(gql, code=codes[2], userId="carol", orderId="o-4", orderValue="2.00")
    assert small["errors"] == []
    assert small["discountAmount"] == "2.00"
    assert campaign_counts(gql, campaign_id) == {
        "totalUses": 0,
        "heldUses": 3,
        "totalDiscount": "0.00",
        "status": "ACTIVE",
    }


# --- the order is the key --------------------------------------------------------------------


def test_a_retry_answers_the_same_hold(gql, db):
    # given
    create_timed_coupon(gql, code="RETRYME", maxUsesPerUser=1, maxTotalUses=1)
    first = hold(gql, "RETRYME", "alice", "o-1")
    # when the same reservation is sent again (in another case)
    again = reserve(gql, code="retryme", userId="alice", orderId="o-1", orderValue="50")
    # then
    assert again["errors"] == []
    assert again["reservation"]["id"] == first["reservation"]["id"]
    assert again["reservation"]["expiresAt"] == first["reservation"]["expiresAt"]
    assert again["discountAmount"] == first["discountAmount"]
    assert db.value("SELECT count(*) FROM coupon_reservations") == 1
    assert counts(gql, "RETRYME")["heldUses"] == 1


@pytest.mark.parametrize(
    "change", [{"code": "OTHER"}, {"userId": "mallory"}], ids=["other code", "other user"]
)
def test_another_code_or_user_on_a_held_order_is_order_already_used(gql, db, change):
    # given an order holding a code
    create_timed_coupon(gql, code="FIRST", maxUsesPerUser=5)
    create_timed_coupon(gql, code="OTHER", maxUsesPerUser=5)
    hold(gql, "FIRST", "alice", "o-1")
    request = {"code": "FIRST", "userId": "alice", "orderId": "o-1", "orderValue": "50", **change}
    # when
    reserved = reserve(gql, **request)
    redeemed = redeem(gql, **request)
    # then
    for payload in (reserved, redeemed):
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("ORDER_ALREADY_USED", "orderId")
        ]
    assert db.value("SELECT count(*) FROM coupon_reservations") == 1
    assert db.value("SELECT count(*) FROM coupon_usages") == 0
    assert counts(gql, "OTHER")["heldUses"] == 0


@pytest.mark.parametrize(
    "change",
    [{}, {"code": "OTHER"}, {"userId": "mallory"}],
    ids=["same", "other code", "other user"],
)
def test_a_redeemed_order_cannot_be_reserved(gql, db, change):
    create_timed_coupon(gql, code="FIRST", maxUsesPerUser=5)
    create_timed_coupon(gql, code="OTHER", maxUsesPerUser=5)
    assert redeem(gql, code="FIRST", userId="alice", orderId="o-1", orderValue="50")["errors"] == []
    request = {"code": "FIRST", "userId": "alice", "orderId": "o-1", "orderValue": "50", **change}
    payload = reserve(gql, **request)
    assert error_codes(payload) == ["ORDER_ALREADY_USED"]
    assert payload["reservation"] is None
    assert db.value("SELECT count(*) FROM coupon_reservations") == 0


# --- consuming a hold ------------------------------------------------------------------------


def test_a_redemption_consumes_the_orders_hold_once(gql, db):
    # given a campaign of one use in all, held for alice's order
    campaign_id, [code] = campaign_with_codes(gql, db, 1, maxTotalUses=1, maxTotalDiscount="5.00")
    held = hold(gql, code, "alice", "o-1")
    # when the order is redeemed with the same value (twice: a retry)
    payload = redeem(gql, code=code, userId="alice", orderId="o-1", orderValue="50")
    retry = redeem(gql, code=code, userId="alice", orderId="o-1", orderValue="50")
    # then the use moved from held to redeemed, once
    assert payload["errors"] == []
    assert payload["discountAmount"] == held["discountAmount"] == "5.00"
    assert retry["usage"]["id"] == payload["usage"]["id"]
    assert counts(gql, code) == {"currentTotalUses": 1, "heldUses": 0, "status": "EXHAUSTED"}
    assert campaign_counts(gql, campaign_id) == {
        "totalUses": 1,
        "heldUses": 0,
        "totalDiscount": "5.00",
        "status": "EXHAUSTED",
    }
    found = reservation(gql, "o-1")
    assert found is not None
    assert (found["id"], found["status"]) == (held["reservation"]["id"], "REDEEMED")
    assert db.value("SELECT count(*) FROM coupon_usages") == 1
    assert db.value("SELECT usage_id FROM coupon_reservations") is not None


def test_a_redemption_with_another_value_checks_again_without_its_own_hold(gql, db):
    # given a 12.00 budget, 10% off: alice holds 5.00 on a 50.00 order, bob 5.00 on his
    campaign_id, codes = campaign_with_codes(
        gql, db, 2, discountType="PERCENTAGE", discountValue="10", maxTotalDiscount="12.00"
    )
    hold(gql, codes[0], "alice", "o-1", "50")
    hold(gql, codes[1], "bob", "o-2", "50")
    # when alice's order grows to 80.00 (8.00 off): 5.00 held by bob + 8.00 > 12.00
    too_much = redeem(gql, code=codes[0], userId="alice", orderId="o-1", orderValue="80")
    # then it is refused and her hold stands
    assert error_codes(too_much) == ["EXHAUSTED"]
    found = reservation(gql, "o-1")
    assert found is not None
    assert found["status"] == "HELD"
    # when it is 70.00 instead (7.00 off): 5.00 + 7.00 fits, her own hold not counted
    payload = redeem(gql, code=codes[0], userId="alice", orderId="o-1", orderValue="70")
    # then
    assert payload["errors"] == []
    assert payload["discountAmount"] == "7.00"
    found = reservation(gql, "o-1")
    assert found is not None
    assert found["status"] == "REDEEMED"
    assert campaign_counts(gql, campaign_id) == {
        "totalUses": 1,
        "heldUses": 1,
        "totalDiscount": "7.00",
        "status": "ACTIVE",
    }


def test_a_redemption_with_another_value_runs_the_minimum_order_check(gql):
    create_timed_coupon(gql, code="MIN50", minOrderValue="50", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "MIN50", "alice", "o-1", "60")
    below = redeem(gql, code="MIN50", userId="alice", orderId="o-1", orderValue="40")
    assert error_codes(below) == ["MIN_ORDER_VALUE_NOT_MET"]
    assert counts(gql, "MIN50") == {"currentTotalUses": 0, "heldUses": 1, "status": "ACTIVE"}
    # the limit of one is not taken by her own hold
    above = redeem(gql, code="MIN50", userId="alice", orderId="o-1", orderValue="90")
    assert above["errors"] == []
    assert counts(gql, "MIN50") == {"currentTotalUses": 1, "heldUses": 0, "status": "EXHAUSTED"}


def test_a_retried_hold_is_answered_as_made(gql, db):
    # given a hold of 50.00 for 600 seconds
    create_timed_coupon(gql, code="ASMADE", maxUsesPerUser=2)
    first = reserve(
        gql, code="ASMADE", userId="alice", orderId="o-1", orderValue="50", ttlSeconds=600
    )
    # when it is retried with another value and lifetime
    again = reserve(
        gql, code="ASMADE", userId="alice", orderId="o-1", orderValue="80", ttlSeconds=3600
    )
    # then the hold is answered unchanged
    assert again["errors"] == []
    assert again["reservation"] == first["reservation"]
    assert (again["discountAmount"], again["finalAmount"]) == ("5.00", "45.00")
    assert db.value("SELECT count(*) FROM coupon_reservations") == 1


def test_a_hold_redeemed_at_its_value_stands_past_the_windows_end(gql, db):
    create_timed_coupon(gql, code="QUOTED", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "QUOTED", "alice", "o-1")
    db.execute("UPDATE coupons SET valid_until = now() - interval '1 second'")
    payload = redeem(gql, code="QUOTED", userId="alice", orderId="o-1", orderValue="50")
    assert payload["errors"] == []
    assert payload["discountAmount"] == "5.00"


def test_a_paused_coupon_stops_the_redemption_of_its_hold(gql, db):
    # given alice's hold, then the coupon is paused
    create_timed_coupon(gql, code="PAUSED", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "PAUSED", "alice", "o-1")
    db.execute("UPDATE coupons SET status = 'INACTIVE'")
    # when she redeems the order at the held value
    payload = redeem(gql, code="PAUSED", userId="alice", orderId="o-1", orderValue="50")
    # then it is refused, and the hold stays until it ends
    assert error_codes(payload) == ["INACTIVE"]
    found = reservation(gql, "o-1")
    assert found is not None
    assert found["status"] == "HELD"
    assert db.value("SELECT count(*) FROM coupon_usages") == 0


def test_a_paused_campaign_stops_the_redemption_of_its_holds(gql, db):
    campaign_id, [code] = campaign_with_codes(gql, db, 1, maxUsesPerCode=2)
    hold(gql, code, "alice", "o-1")
    deactivate = "mutation D($id: ID!) { deactivateCampaign(id: $id) { errors { code } } }"
    assert gql(deactivate, {"id": campaign_id})["deactivateCampaign"]["errors"] == []
    payload = redeem(gql, code=code, userId="alice", orderId="o-1", orderValue="50")
    assert error_codes(payload) == ["INACTIVE"]
    assert campaign_counts(gql, campaign_id)["heldUses"] == 1


# --- expiry ---------------------------------------------------------------------------------


def test_an_expired_hold_frees_its_unit_before_any_sweep(gql, db):
    # given a coupon of one use, held by alice, whose hold has expired
    create_timed_coupon(gql, code="LAPSE", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "LAPSE", "alice", "o-1")
    expire_hold(db, "o-1")
    # then, with the row still written HELD, it no longer counts anywhere
    assert db.value("SELECT status::text FROM coupon_reservations") == "HELD"
    assert counts(gql, "LAPSE") == {"currentTotalUses": 0, "heldUses": 0, "status": "ACTIVE"}
    found = reservation(gql, "o-1")
    assert found is not None
    assert found["status"] == "EXPIRED"
    assert validate(gql, code="LAPSE", userId="bob", orderValue="50")["valid"] is True
    assert validate(gql, code="LAPSE", userId="alice", orderValue="50")["valid"] is True
    # and bob may hold the unit
    assert reserve(gql, code="LAPSE", userId="bob", orderId="o-2", orderValue="50")["errors"] == []
    assert counts(gql, "LAPSE")["heldUses"] == 1


def test_an_expired_hold_frees_its_unit_for_a_redemption(gql, db):
    create_timed_coupon(gql, code="LAPSE", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "LAPSE", "alice", "o-1")
    expire_hold(db, "o-1")
    payload = redeem(gql, code="LAPSE", userId="bob", orderId="o-2", orderValue="50")
    assert payload["errors"] == []
    assert counts(gql, "LAPSE") == {"currentTotalUses": 1, "heldUses": 0, "status": "EXHAUSTED"}


def test_an_expired_hold_leaves_the_campaigns_counts(gql, db):
    campaign_id, [code] = campaign_with_codes(gql, db, 1, maxTotalDiscount="5.00")
    hold(gql, code, "alice", "o-1")
    assert campaign_counts(gql, campaign_id)["heldUses"] == 1
    expire_hold(db, "o-1")
    assert campaign_counts(gql, campaign_id)["heldUses"] == 0
    # the money it held is free again
    assert reserve(gql, code=code, userId="bob", orderId="o-2", orderValue="50")["errors"] == []


def test_a_new_hold_of_an_order_whose_hold_expired(gql, db):
    create_timed_coupon(gql, code="AGAIN", maxUsesPerUser=1, maxTotalUses=1)
    first = hold(gql, "AGAIN", "alice", "o-1")
    expire_hold(db, "o-1")
    second = reserve(gql, code="AGAIN", userId="alice", orderId="o-1", orderValue="50")
    assert second["errors"] == []
    assert second["reservation"]["id"] != first["reservation"]["id"]
    rows = db.fetch("SELECT id::text, status::text FROM coupon_reservations ORDER BY created_at")
    assert [(row["id"], row["status"]) for row in rows] == [
        (first["reservation"]["id"], "EXPIRED"),
        (second["reservation"]["id"], "HELD"),
    ]


def test_the_sweep_writes_expired_holds_and_answers_them(gql, db):
    # given one expired hold and one live one
    create_timed_coupon(gql, code="SWEEP", maxUsesPerUser=5)
    hold(gql, "SWEEP", "alice", "o-1")
    hold(gql, "SWEEP", "bob", "o-2")
    expire_hold(db, "o-1")
    # when the sweep runs (twice)
    swept = db.fetch(SWEEP)
    again = db.fetch(SWEEP)
    # then it wrote and answered only the expired one, once
    assert [(row["order_id"], row["status"]) for row in swept] == [("o-1", "EXPIRED")]
    assert again == []
    rows = db.fetch(
        "SELECT order_id, status::text AS status, ended_at FROM coupon_reservations"
        " ORDER BY order_id"
    )
    assert [(row["order_id"], row["status"]) for row in rows] == [
        ("o-1", "EXPIRED"),
        ("o-2", "HELD"),
    ]
    assert rows[0]["ended_at"] is not None
    assert rows[1]["ended_at"] is None
    found = reservation(gql, "o-1")
    assert found is not None
    assert found["status"] == "EXPIRED"
    assert counts(gql, "SWEEP")["heldUses"] == 1


def test_a_redemption_of_an_order_whose_hold_expired_runs_every_check(gql, db):
    # given alice's hold expired and bob now holds the coupon's one use
    create_timed_coupon(gql, code="RECHECK", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "RECHECK", "alice", "o-1")
    expire_hold(db, "o-1")
    hold(gql, "RECHECK", "bob", "o-2")
    # when alice redeems her order with the same value
    payload = redeem(gql, code="RECHECK", userId="alice", orderId="o-1", orderValue="50")
    # then her expired hold is no ticket
    assert error_codes(payload) == ["EXHAUSTED"]
    assert db.value("SELECT count(*) FROM coupon_usages") == 0


def test_a_redemption_of_an_order_whose_hold_expired_is_checked_not_consumed(gql, db):
    create_timed_coupon(gql, code="RECHECK", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "RECHECK", "alice", "o-1")
    expire_hold(db, "o-1")
    db.execute("UPDATE coupons SET status = 'INACTIVE'")
    assert error_codes(
        redeem(gql, code="RECHECK", userId="alice", orderId="o-1", orderValue="50")
    ) == ["INACTIVE"]
    db.execute("UPDATE coupons SET status = 'ACTIVE'")
    payload = redeem(gql, code="RECHECK", userId="alice", orderId="o-1", orderValue="50")
    assert payload["errors"] == []
    found = reservation(gql, "o-1")
    assert found is not None
    assert found["status"] == "EXPIRED"
    assert counts(gql, "RECHECK") == {"currentTotalUses": 1, "heldUses": 0, "status": "EXHAUSTED"}


# --- validateCoupon -------------------------------------------------------------------------


def test_validate_counts_live_holds(gql):
    # given alice holds the coupon's one use
    create_timed_coupon(gql, code="DRYRUN", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "DRYRUN", "alice", "o-1")
    # then others are told it is used up, alice is at her limit on any other order
    assert error_codes(validate(gql, code="DRYRUN", userId="bob", orderValue="50")) == ["EXHAUSTED"]
    assert error_codes(validate(gql, code="DRYRUN", userId="alice", orderValue="50")) == [
        "USER_LIMIT_REACHED"
    ]
    # and her own order, at the held value, is valid with the held discount
    own = validate(gql, code="DRYRUN", userId="alice", orderValue="50", orderId="o-1")
    assert own["valid"] is True
    assert own["discountAmount"] == "5.00"
    # and another user on her order is refused
    other = validate(gql, code="DRYRUN", userId="bob", orderValue="50", orderId="o-1")
    assert error_codes(other) == ["ORDER_ALREADY_USED"]


def test_validate_of_a_held_order_at_another_value_does_not_count_its_own_hold(gql):
    create_timed_coupon(gql, code="DRYRUN", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "DRYRUN", "alice", "o-1", "50")
    result = validate(gql, code="DRYRUN", userId="alice", orderValue="80", orderId="o-1")
    assert result["valid"] is True
    assert result["errors"] == []


def test_validate_of_a_held_order_at_another_value_quotes_that_value(gql):
    # given alice holds 10% of a 50.00 order (5.00 off)
    create_timed_coupon(gql, code="REQUOTE", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "REQUOTE", "alice", "o-1", "50")
    # when she asks what the same order would get at 80.00
    result = gql(
        "query V($input: ValidateCouponInput!) { validateCoupon(input: $input) "
        "{ valid discountAmount finalAmount } }",
        {"input": {"code": "REQUOTE", "userId": "alice", "orderValue": "80", "orderId": "o-1"}},
    )["validateCoupon"]
    # then the quote is the one a redemption at 80.00 gives: 8.00 off, 72.00 to pay
    assert result == {"valid": True, "discountAmount": "8.00", "finalAmount": "72.00"}
    redeemed = redeem(gql, code="REQUOTE", userId="alice", orderId="o-1", orderValue="80")
    assert (redeemed["discountAmount"], redeemed["finalAmount"]) == ("8.00", "72.00")


# --- inputs ---------------------------------------------------------------------------------


def test_ttl_seconds_out_of_range_is_invalid_input_writing_nothing(gql, db):
    # given
    create_timed_coupon(gql, code="TTLS")
    for ttl in (59, 86_401, 0, -1):
        # when
        payload = reserve(
            gql, code="TTLS", userId="alice", orderId="o-1", orderValue="50", ttlSeconds=ttl
        )
        # then
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID_INPUT", "ttlSeconds")
        ], ttl
        assert payload["reservation"] is None
        assert payload["discountAmount"] is None
    assert db.value("SELECT count(*) FROM coupon_reservations") == 0


def test_ttl_seconds_at_its_edges_is_accepted(gql, db):
    create_timed_coupon(gql, code="TTLS", maxUsesPerUser=2)
    for order, ttl in (("o-60", 60), ("o-86400", 86_400)):
        payload = reserve(
            gql, code="TTLS", userId="alice", orderId=order, orderValue="50", ttlSeconds=ttl
        )
        assert payload["errors"] == [], ttl
        seconds = db.value(
            "SELECT extract(epoch FROM expires_at - created_at) FROM coupon_reservations"
            " WHERE order_id = $1",
            order,
        )
        assert seconds == ttl


BAD_INPUTS = [
    ("code", ""),
    ("code", "   "),
    ("code", "X" * 51),
    ("code", "AB\u0000CD"),
    ("userId", ""),
    ("userId", "u" * 101),
    ("orderId", ""),
    ("orderId", "o" * 101),
    ("orderValue", "0"),
    ("orderValue", "-1"),
    ("orderValue", "10.001"),
    ("orderValue", "10000000000.00"),
    ("ipAddress", "not-an-ip"),
    ("userAgent", "a" * 501),
]


def test_bad_input_is_invalid_input_naming_the_field_and_writes_nothing(gql, db):
    # given
    create_timed_coupon(gql, code="VALID10", maxUsesPerUser=3)
    for field, value in BAD_INPUTS:
        request = {"code": "VALID10", "userId": "u", "orderId": "o", "orderValue": "10"}
        # when
        payload = reserve(gql, **{**request, field: value})
        # then
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)], (
            field,
            value,
        )
        assert payload["reservation"] is None
    assert db.value("SELECT count(*) FROM coupon_reservations") == 0
    assert db.value("SELECT count(*) FROM guess_counters") == 0


def test_unknown_code_is_not_found(gql, db):
    payload = reserve(gql, code="NOPE-NOPE", userId="u", orderId="o", orderValue="10")
    assert error_codes(payload) == ["NOT_FOUND"]
    assert db.value("SELECT count(*) FROM coupon_reservations") == 0


def test_reservation_of_a_bad_order_id_is_an_invalid_input_error(gql):
    errors = gql.errors(RESERVATION, {"orderId": ""})
    assert [error["extensions"] for error in errors] == [
        {"code": "INVALID_INPUT", "field": "orderId"}
    ]


def test_an_order_without_reservations_has_none(gql):
    assert reservation(gql, "never-seen") is None


def test_a_missing_required_field_is_a_request_error(gql):
    errors = gql.errors(RESERVE_COUPON, {"input": {"code": "X", "userId": "u", "orderId": "o"}})
    assert errors


# --- simultaneous requests ------------------------------------------------------------------


async def send_all(base_url: str, requests: list[tuple[str, dict[str, Any]]]) -> list[dict]:
    """Send every (document, input) at once, each on its own connection."""
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        responses = await asyncio.gather(
            *(
                client.post("/graphql", json={"query": query, "variables": {"input": fields}})
                for query, fields in requests
            )
        )
    bodies = [response.json() for response in responses]
    assert all("errors" not in body for body in bodies), bodies
    return [next(iter(body["data"].values())) for body in bodies]


def outcomes(payloads: list[dict]) -> Counter[str]:
    return Counter(p["errors"][0]["code"] if p["errors"] else "OK" for p in payloads)


async def test_simultaneous_holds_and_redemptions_never_pass_the_budget(gql, db, server):
    # given a 20.00 budget of 5.00 discounts (four fit) over three codes
    campaign_id, codes = campaign_with_codes(
        gql, db, 3, maxUsesPerCode=20, maxTotalUses=10, maxTotalDiscount="20.00"
    )
    requests = [
        (
            RESERVE_COUPON if n % 2 else REDEEM_COUPON,
            {"code": codes[n % 3], "userId": f"u-{n}", "orderId": f"o-{n}", "orderValue": "50"},
        )
        for n in range(30)
    ]
    # when all are sent at once
    payloads = await send_all(server.base_url, requests)
    # then exactly four got a use, held or redeemed
    assert outcomes(payloads) == {"OK": 4, "EXHAUSTED": 26}
    campaign = campaign_counts(gql, campaign_id)
    assert campaign["totalUses"] + campaign["heldUses"] == 4
    spent = db.value("SELECT coalesce(sum(discount_applied), 0) FROM coupon_usages")
    held = db.value(
        "SELECT coalesce(sum(discount_amount), 0) FROM coupon_reservations WHERE status = 'HELD'"
    )
    assert spent + held == 20


async def test_simultaneous_holds_of_one_order_give_it_one(gql, db, server):
    create_timed_coupon(gql, code="ONEORDER", maxUsesPerUser=5)
    requests = [
        (
            RESERVE_COUPON,
            {"code": "ONEORDER", "userId": f"u-{n}", "orderId": "o", "orderValue": "50"},
        )
        for n in range(10)
    ]
    payloads = await send_all(server.base_url, requests)
    assert outcomes(payloads) == {"OK": 1, "ORDER_ALREADY_USED": 9}
    assert db.value("SELECT count(*) FROM coupon_reservations") == 1


async def test_simultaneous_redemptions_consume_a_hold_once(gql, db, server):
    create_timed_coupon(gql, code="CONSUME", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "CONSUME", "alice", "o-1")
    request = {"code": "CONSUME", "userId": "alice", "orderId": "o-1", "orderValue": "50"}
    payloads = await send_all(server.base_url, [(REDEEM_COUPON, request)] * 10)
    assert outcomes(payloads) == {"OK": 10}
    assert len({payload["usage"]["id"] for payload in payloads}) == 1
    assert db.value("SELECT count(*) FROM coupon_usages") == 1
    assert counts(gql, "CONSUME") == {"currentTotalUses": 1, "heldUses": 0, "status": "EXHAUSTED"}
