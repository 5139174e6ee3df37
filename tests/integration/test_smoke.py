from tests.support.factories import create_user_coupon, redeem


def test_a_user_coupon_can_be_created_and_redeemed(gql):
    coupon = create_user_coupon(gql, userId="alice", discountValue="5")
    result = redeem(gql, code=coupon["code"], userId="alice", orderId="o-1", orderValue="20")
    assert result["errors"] == []
    assert result["discountAmount"] == "5.00"
    assert result["finalAmount"] == "15.00"
