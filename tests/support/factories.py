"""Coupons made through the public API, with defaults a test can override."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.graphql import GraphQLClient

COUPON_FIELDS = """
    id code type discountType discountValue maxDiscountAmount minOrderValue description
    userId validFrom validUntil maxUsesPerUser maxTotalUses currentTotalUses status
    createdBy createdAt updatedAt
"""

CREATE_USER_COUPON = f"""
mutation CreateUserCoupon($input: CreateUserCouponInput!) {{
  createUserCoupon(input: $input) {{
    coupon {{ {COUPON_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""

CREATE_TIMED_COUPON = f"""
mutation CreateTimedCoupon($input: CreateTimedCouponInput!) {{
  createTimedCoupon(input: $input) {{
    coupon {{ {COUPON_FIELDS} }}
    errors {{ code field message }}
  }}
}}
"""

REDEEM_COUPON = """
mutation RedeemCoupon($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) {
    usage {
      id userId orderId orderValue discountApplied finalAmount usedAt ipAddress userAgent
      coupon { id code currentTotalUses status }
    }
    discountAmount
    finalAmount
    errors { code field message }
  }
}
"""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def now() -> datetime:
    return datetime.now(UTC)


def user_coupon_input(**overrides: Any) -> dict[str, Any]:
    return {"userId": "user-1", "discountType": "FIXED", "discountValue": "10.00", **overrides}


def timed_coupon_input(**overrides: Any) -> dict[str, Any]:
    return {
        "discountType": "PERCENTAGE",
        "discountValue": "10",
        "validFrom": iso(now() - timedelta(days=1)),
        "validUntil": iso(now() + timedelta(days=30)),
        "maxUsesPerUser": 1,
        **overrides,
    }


def create_user_coupon(gql: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    payload = gql(CREATE_USER_COUPON, {"input": user_coupon_input(**overrides)})["createUserCoupon"]
    assert payload["errors"] == [], payload["errors"]
    coupon: dict[str, Any] = payload["coupon"]
    return coupon


def create_timed_coupon(gql: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    payload = gql(CREATE_TIMED_COUPON, {"input": timed_coupon_input(**overrides)})[
        "createTimedCoupon"
    ]
    assert payload["errors"] == [], payload["errors"]
    coupon: dict[str, Any] = payload["coupon"]
    return coupon


def redeem(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = gql(REDEEM_COUPON, {"input": fields})["redeemCoupon"]
    return payload
