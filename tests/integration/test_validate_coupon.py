"""validateCoupon: the checks of redeemCoupon, in the same order, and no write."""

from __future__ import annotations

from tests.support.factories import create_timed_coupon, create_user_coupon, redeem

VALIDATE_COUPON = """
query ValidateCoupon($input: ValidateCouponInput!) {
  validateCoupon(input: $input) {
    valid
    discountAmount
    finalAmount
    coupon { code status currentTotalUses }
    errors { code field }
  }
}
"""


def validate(gql, **fields):
    return gql(VALIDATE_COUPON, {"input": fields})["validateCoupon"]


def test_a_valid_coupon_quotes_the_discount_and_writes_nothing(gql, db):
    # given
    create_timed_coupon(
        gql, code="TENOFF", discountType="PERCENTAGE", discountValue="10", maxDiscountAmount="5"
    )
    # when
    result = validate(gql, code="tenoff", userId="u", orderValue="80")
    # then
    assert result == {
        "valid": True,
        "discountAmount": "5.00",
        "finalAmount": "75.00",
        "coupon": {"code": "TENOFF", "status": "ACTIVE", "currentTotalUses": 0},
        "errors": [],
    }
    assert db.value("select count(*) from coupon_usages") == 0
    assert db.value("select current_total_uses from coupons") == 0


def test_validating_many_times_never_uses_the_coupon(gql, db):
    coupon = create_user_coupon(gql, userId="alice")
    for _ in range(3):
        assert validate(gql, code=coupon["code"], userId="alice", orderValue="20")["valid"]
    assert (
        redeem(gql, code=coupon["code"], userId="alice", orderId="o", orderValue="20")["errors"]
        == []
    )


def test_unknown_and_foreign_codes_are_not_found_without_a_coupon(gql):
    coupon = create_user_coupon(gql, userId="alice")
    for code, user in (("NOPE-NOPE", "alice"), (coupon["code"], "mallory")):
        result = validate(gql, code=code, userId=user, orderValue="20")
        assert result["valid"] is False
        assert result["coupon"] is None
        assert result["discountAmount"] is None
        assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]


def test_a_refusal_names_the_reason_and_shows_the_coupon(gql):
    create_timed_coupon(gql, code="MIN50", minOrderValue="50")
    result = validate(gql, code="MIN50", userId="u", orderValue="49.99")
    assert result["valid"] is False
    assert result["coupon"]["code"] == "MIN50"
    assert result["finalAmount"] is None
    assert result["errors"] == [{"code": "MIN_ORDER_VALUE_NOT_MET", "field": "orderValue"}]


def test_the_same_order_of_checks_as_redeem(gql, db):
    create_timed_coupon(gql, code="ORDERED", maxUsesPerUser=1, maxTotalUses=1)
    redeem(gql, code="ORDERED", userId="u", orderId="o1", orderValue="10")
    assert validate(gql, code="ORDERED", userId="u", orderValue="10")["errors"][0]["code"] == (
        "USER_LIMIT_REACHED"
    )
    assert validate(gql, code="ORDERED", userId="v", orderValue="10")["errors"][0]["code"] == (
        "EXHAUSTED"
    )
    db.execute("update coupons set status = 'INACTIVE'")
    assert validate(gql, code="ORDERED", userId="v", orderValue="10")["errors"][0]["code"] == (
        "INACTIVE"
    )


def test_an_order_id_is_checked_like_redeem_does(gql):
    create_timed_coupon(gql, code="FIRST", maxUsesPerUser=3)
    create_timed_coupon(gql, code="SECOND", maxUsesPerUser=3)
    redeem(gql, code="FIRST", userId="u", orderId="o-1", orderValue="30")
    retry = validate(gql, code="FIRST", userId="u", orderValue="30", orderId="o-1")
    assert retry["valid"] is True
    assert retry["discountAmount"] == "3.00"
    other = validate(gql, code="SECOND", userId="u", orderValue="30", orderId="o-1")
    assert other["errors"] == [{"code": "ORDER_ALREADY_USED", "field": "orderId"}]
    fresh = validate(gql, code="SECOND", userId="u", orderValue="30", orderId="o-2")
    assert fresh["valid"] is True


def test_bad_input_is_invalid_input(gql):
    create_timed_coupon(gql, code="FINE")
    for field, value in (
        ("orderValue", "1.001"),
        ("userId", ""),
        ("code", "C" * 51),
        ("orderId", "x" * 101),
    ):
        fields = {"code": "FINE", "userId": "u", "orderValue": "10", field: value}
        result = validate(gql, **fields)
        assert result["valid"] is False
        assert result["errors"] == [{"code": "INVALID_INPUT", "field": field}]
