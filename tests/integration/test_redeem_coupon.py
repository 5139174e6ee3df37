"""redeemCoupon: the checks in the contract's order, the audit trail, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.factories import (
    REDEEM_COUPON,
    create_timed_coupon,
    create_user_coupon,
    iso,
    now,
    redeem,
)

# Both answering paths, as an admin and as a storefront (see conftest).
pytestmark = pytest.mark.every_answerer


def error_codes(payload):
    return [error["code"] for error in payload["errors"]]


def test_redemption_records_the_audit_trail_and_counts_the_use(gql, db):
    # given
    coupon = create_user_coupon(
        gql, userId="alice", discountType="PERCENTAGE", discountValue="12.5", maxDiscountAmount="20"
    )
    # when
    payload = redeem(
        gql,
        code=coupon["code"].lower(),
        userId="alice",
        orderId="order-1",
        orderValue="99.99",
        ipAddress="203.0.113.7",
        userAgent="Shop/1.0",
    )
    # then
    assert payload["errors"] == []
    assert payload["discountAmount"] == "12.50"  # 12.49875 rounds half-up
    assert payload["finalAmount"] == "87.49"
    usage = payload["usage"]
    assert usage["userId"] == "alice"
    assert usage["orderId"] == "order-1"
    assert usage["orderValue"] == "99.99"
    assert usage["discountApplied"] == "12.50"
    assert usage["finalAmount"] == "87.49"
    assert usage["ipAddress"] == "203.0.113.7"
    assert usage["userAgent"] == "Shop/1.0"
    assert usage["usedAt"].endswith("+00:00")
    assert usage["coupon"]["currentTotalUses"] == 1
    assert usage["coupon"]["status"] == "EXHAUSTED"
    row = db.fetch("select status, current_total_uses from coupons")[0]
    assert (row["status"], row["current_total_uses"]) == ("EXHAUSTED", 1)
    assert db.value("select count(*) from coupon_usages") == 1


def test_ip_and_user_agent_default_to_the_request(gql):
    coupon = create_user_coupon(gql, userId="alice")
    data = gql(
        REDEEM_COUPON,
        {"input": {"code": coupon["code"], "userId": "alice", "orderId": "o", "orderValue": "50"}},
        headers={"User-Agent": "BFF-agent/2"},
    )
    usage = data["redeemCoupon"]["usage"]
    assert usage["ipAddress"] == "127.0.0.1"
    assert usage["userAgent"] == "BFF-agent/2"


def test_the_discount_never_exceeds_the_order(gql):
    coupon = create_user_coupon(gql, userId="alice", discountType="FIXED", discountValue="30")
    payload = redeem(gql, code=coupon["code"], userId="alice", orderId="o", orderValue="19.99")
    assert payload["discountAmount"] == "19.99"
    assert payload["finalAmount"] == "0.00"


def test_a_retry_of_the_same_order_returns_the_same_usage_unchanged(gql, db):
    # given a redeemed order
    coupon = create_timed_coupon(gql, code="RETRY10", maxUsesPerUser=5)
    first = redeem(gql, code="RETRY10", userId="bob", orderId="o-9", orderValue="40")
    # when the same redemption is sent again
    again = redeem(gql, code="retry10", userId="bob", orderId="o-9", orderValue="40.00")
    # then
    assert again["errors"] == []
    assert again["usage"] == first["usage"]
    assert again["discountAmount"] == first["discountAmount"]
    assert db.value("select count(*) from coupon_usages") == 1
    assert db.value("select current_total_uses from coupons where id = $1::uuid", coupon["id"]) == 1


def test_a_retry_still_answers_after_the_coupon_is_used_up(gql):
    coupon = create_user_coupon(gql, userId="alice")
    first = redeem(gql, code=coupon["code"], userId="alice", orderId="o", orderValue="50")
    again = redeem(gql, code=coupon["code"], userId="alice", orderId="o", orderValue="50")
    assert again["usage"]["id"] == first["usage"]["id"]


@pytest.mark.parametrize(
    "change",
    [{"orderValue": "41"}, {"userId": "someone-else"}, {"code": "OTHER10"}],
    ids=["other value", "other user", "other coupon"],
)
def test_an_order_with_a_usage_refuses_anything_but_a_retry(gql, db, change):
    create_timed_coupon(gql, code="FIRST10", maxUsesPerUser=5)
    create_timed_coupon(gql, code="OTHER10", maxUsesPerUser=5)
    redeem(gql, code="FIRST10", userId="bob", orderId="o-1", orderValue="40")
    request = {"code": "FIRST10", "userId": "bob", "orderId": "o-1", "orderValue": "40", **change}
    payload = redeem(gql, **request)
    assert payload["usage"] is None
    assert payload["errors"] == [
        {
            "code": "ORDER_ALREADY_USED",
            "field": "orderId",
            "message": payload["errors"][0]["message"],
        }
    ]
    assert db.value("select count(*) from coupon_usages") == 1


def test_unknown_code_is_not_found(gql):
    payload = redeem(gql, code="NOPE-NOPE", userId="u", orderId="o", orderValue="10")
    assert error_codes(payload) == ["NOT_FOUND"]
    assert payload["usage"] is None
    assert payload["discountAmount"] is None


def test_another_users_coupon_is_not_found(gql, db):
    coupon = create_user_coupon(gql, userId="alice")
    payload = redeem(gql, code=coupon["code"], userId="mallory", orderId="o", orderValue="10")
    assert error_codes(payload) == ["NOT_FOUND"]
    assert db.value("select count(*) from coupon_usages") == 0


def test_inactive(gql, db):
    create_timed_coupon(gql, code="PAUSED")
    db.execute("update coupons set status = 'INACTIVE'")
    payload = redeem(gql, code="PAUSED", userId="u", orderId="o", orderValue="10")
    assert error_codes(payload) == ["INACTIVE"]


def test_not_yet_valid(gql):
    create_timed_coupon(
        gql,
        code="LATER",
        validFrom=iso(now() + timedelta(days=1)),
        validUntil=iso(now() + timedelta(days=2)),
    )
    payload = redeem(gql, code="LATER", userId="u", orderId="o", orderValue="10")
    assert error_codes(payload) == ["NOT_YET_VALID"]


def test_expired_even_before_any_sweep_wrote_it(gql, db):
    create_timed_coupon(gql, code="GONE")
    db.execute("update coupons set valid_until = now() - interval '1 second'")
    payload = redeem(gql, code="GONE", userId="u", orderId="o", orderValue="10")
    assert error_codes(payload) == ["EXPIRED"]
    assert db.value("select status::text from coupons") == "ACTIVE"


def test_min_order_value_not_met(gql):
    create_timed_coupon(gql, code="BIGSPEND", minOrderValue="50.00")
    below = redeem(gql, code="BIGSPEND", userId="u", orderId="o1", orderValue="49.99")
    at = redeem(gql, code="BIGSPEND", userId="u", orderId="o2", orderValue="50.00")
    assert error_codes(below) == ["MIN_ORDER_VALUE_NOT_MET"]
    assert below["errors"][0]["field"] == "orderValue"
    assert at["errors"] == []


def test_a_user_coupon_is_redeemed_once(gql):
    coupon = create_user_coupon(gql, userId="alice")
    redeem(gql, code=coupon["code"], userId="alice", orderId="o1", orderValue="50")
    payload = redeem(gql, code=coupon["code"], userId="alice", orderId="o2", orderValue="50")
    assert error_codes(payload) == ["ALREADY_REDEEMED"]


def test_user_limit_reached(gql):
    create_timed_coupon(gql, code="TWICE", maxUsesPerUser=2)
    for order in ("o1", "o2"):
        assert redeem(gql, code="TWICE", userId="u", orderId=order, orderValue="50")["errors"] == []
    payload = redeem(gql, code="TWICE", userId="u", orderId="o3", orderValue="50")
    assert error_codes(payload) == ["USER_LIMIT_REACHED"]
    other_user = redeem(gql, code="TWICE", userId="v", orderId="o4", orderValue="50")
    assert other_user["errors"] == []


def test_exhausted_and_the_status_moves_on_its_own(gql, db):
    create_timed_coupon(gql, code="LASTONE", maxUsesPerUser=1, maxTotalUses=2)
    redeem(gql, code="LASTONE", userId="a", orderId="o1", orderValue="50")
    assert db.value("select status::text from coupons") == "ACTIVE"
    redeem(gql, code="LASTONE", userId="b", orderId="o2", orderValue="50")
    assert db.value("select status::text from coupons") == "EXHAUSTED"
    payload = redeem(gql, code="LASTONE", userId="c", orderId="o3", orderValue="50")
    assert error_codes(payload) == ["EXHAUSTED"]


def test_the_first_failing_check_is_the_one_reported(gql, db):
    # given a coupon that is inactive, expired, exhausted and above the order value at once
    create_timed_coupon(gql, code="EVERYTHING", minOrderValue="100", maxTotalUses=1)
    db.execute(
        "update coupons set current_total_uses = 1, status = 'INACTIVE', "
        "valid_until = now() - interval '1 second'"
    )

    # then each check is reported in the contract's order as the earlier ones are lifted
    def codes():
        return error_codes(redeem(gql, code="EVERYTHING", userId="u", orderId="o", orderValue="10"))

    assert codes() == ["INACTIVE"]
    db.execute("update coupons set status = 'ACTIVE'")
    assert codes() == ["EXPIRED"]
    db.execute("update coupons set valid_until = now() + interval '1 day'")
    assert codes() == ["MIN_ORDER_VALUE_NOT_MET"]
    db.execute("update coupons set min_order_value = 0")
    assert codes() == ["EXHAUSTED"]


def test_user_limit_is_reported_before_exhausted(gql, db):
    create_timed_coupon(gql, code="BOTH", maxUsesPerUser=1, maxTotalUses=1)
    redeem(gql, code="BOTH", userId="u", orderId="o1", orderValue="10")
    payload = redeem(gql, code="BOTH", userId="u", orderId="o2", orderValue="10")
    assert error_codes(payload) == ["USER_LIMIT_REACHED"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", ""),
        ("code", "X" * 51),
        ("code", "AB\u0000CD"),
        ("userId", ""),
        ("userId", "u" * 101),
        ("userId", "u\u0000"),
        ("orderId", "o" * 101),
        ("orderId", "o" * 10_000),
        ("orderValue", "0"),
        ("orderValue", "-1"),
        ("orderValue", "10.001"),
        ("orderValue", "NaN"),
        ("orderValue", "Infinity"),
        ("orderValue", "10000000000.00"),
        ("ipAddress", "not-an-ip"),
        ("userAgent", "a" * 501),
        ("userAgent", "bad\u0000agent"),
    ],
)
def test_bad_input_is_invalid_input_naming_the_field_and_writes_nothing(gql, db, field, value):
    create_timed_coupon(gql, code="VALID10", maxUsesPerUser=3)
    request = {"code": "VALID10", "userId": "u", "orderId": "o", "orderValue": "10", field: value}
    payload = redeem(gql, **request)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)]
    assert payload["usage"] is None
    assert db.value("select count(*) from coupon_usages") == 0
    assert db.value("select current_total_uses from coupons") == 0


def test_limits_at_their_edges_are_accepted(gql):
    create_timed_coupon(gql, code="EDGES", maxUsesPerUser=3, discountValue="100")
    payload = redeem(
        gql,
        code="EDGES",
        userId="u" * 100,
        orderId="o" * 100,
        orderValue="9999999999.99",
        userAgent="a" * 500,
        ipAddress="2001:db8::1",
    )
    assert payload["errors"] == []
    assert payload["finalAmount"] == "0.00"
    assert payload["usage"]["ipAddress"] == "2001:db8::1"


def test_order_value_as_a_json_number_stays_exact(gql):
    create_timed_coupon(
        gql, code="EXACT", discountType="PERCENTAGE", discountValue="15", maxUsesPerUser=2
    )
    response = gql.http.post(
        "/graphql",
        content=(
            '{"query": "mutation($v: Decimal!) { redeemCoupon(input: {code: \\"EXACT\\", '
            'userId: \\"u\\", orderId: \\"o\\", orderValue: $v}) { discountAmount finalAmount } }",'
            ' "variables": {"v": 33.33}}'
        ),
        headers={"content-type": "application/json"},
    )
    assert response.json()["data"]["redeemCoupon"] == {
        "discountAmount": "5.00",
        "finalAmount": "28.33",
    }


def test_usages_cannot_be_edited_or_deleted_even_in_sql(gql, db):
    coupon = create_user_coupon(gql, userId="alice")
    redeem(gql, code=coupon["code"], userId="alice", orderId="o", orderValue="50")
    with pytest.raises(Exception, match="append-only"):
        db.execute("update coupon_usages set discount_applied = 0")
    with pytest.raises(Exception, match="append-only"):
        db.execute("delete from coupon_usages")
    assert db.value("select count(*) from coupon_usages") == 1
