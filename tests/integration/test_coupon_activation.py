"""deactivateCoupon / activateCoupon: pause a coupon, and resume it with its limits intact."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.support.factories import create_timed_coupon, create_user_coupon, redeem
from tests.support.graphql import GraphQLClient

# Both answering paths, as an admin and as a storefront (see conftest).
pytestmark = pytest.mark.every_answerer

DEACTIVATE_COUPON = """
mutation DeactivateCoupon($id: ID!) {
  deactivateCoupon(id: $id) {
    coupon { id code status currentTotalUses updatedAt }
    errors { code field message }
  }
}
"""

ACTIVATE_COUPON = """
mutation ActivateCoupon($id: ID!) {
  activateCoupon(id: $id) {
    coupon { id code status currentTotalUses updatedAt }
    errors { code field message }
  }
}
"""

COUPON_STATUS = """
query CouponStatus($id: ID!) { coupon(id: $id) { status } }
"""


def deactivate(gql: GraphQLClient, coupon_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = gql(DEACTIVATE_COUPON, {"id": coupon_id})["deactivateCoupon"]
    return payload


def activate(gql: GraphQLClient, coupon_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = gql(ACTIVATE_COUPON, {"id": coupon_id})["activateCoupon"]
    return payload


def status_of(gql: GraphQLClient, coupon_id: str) -> str:
    status: str = gql(COUPON_STATUS, {"id": coupon_id})["coupon"]["status"]
    return status


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def usage_rows(db) -> int:
    count: int = db.value("select count(*) from coupon_usages")
    return count


# --- deactivateCoupon ---


def test_a_deactivated_coupon_is_inactive(gql, db):
    # given
    coupon = create_user_coupon(gql, userId="alice")

    # when
    payload = deactivate(gql, coupon["id"])

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["id"] == coupon["id"]
    assert payload["coupon"]["status"] == "INACTIVE"
    assert payload["coupon"]["updatedAt"].endswith("+00:00")
    updated_at = datetime.fromisoformat(payload["coupon"]["updatedAt"])
    assert updated_at > datetime.fromisoformat(coupon["updatedAt"])
    assert status_of(gql, coupon["id"]) == "INACTIVE"
    assert db.value("select status from coupons") == "INACTIVE"


def test_a_deactivated_coupon_cannot_be_redeemed(gql, db):
    # given
    coupon = create_user_coupon(gql, userId="alice")
    deactivate(gql, coupon["id"])

    # when
    payload = redeem(gql, code=coupon["code"], userId="alice", orderId="o-1", orderValue="50")

    # then
    assert error_codes(payload) == ["INACTIVE"]
    assert payload["usage"] is None
    assert usage_rows(db) == 0
    assert db.value("select current_total_uses from coupons") == 0


def test_deactivating_twice_is_harmless(gql):
    # given
    coupon = create_timed_coupon(gql)
    deactivate(gql, coupon["id"])

    # when
    payload = deactivate(gql, coupon["id"])

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["status"] == "INACTIVE"


def test_deactivating_an_exhausted_coupon_makes_it_inactive(gql, db):
    # given: inactive is the first status that applies
    coupon = create_user_coupon(gql, userId="alice")
    redeem(gql, code=coupon["code"], userId="alice", orderId="o-1", orderValue="50")
    assert status_of(gql, coupon["id"]) == "EXHAUSTED"

    # when
    payload = deactivate(gql, coupon["id"])

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["status"] == "INACTIVE"
    assert payload["coupon"]["currentTotalUses"] == 1
    assert usage_rows(db) == 1  # nothing is lost


# --- activateCoupon ---


def test_an_activated_coupon_is_active_and_can_be_redeemed(gql, db):
    # given
    coupon = create_user_coupon(gql, userId="alice", discountValue="5")
    deactivate(gql, coupon["id"])

    # when
    payload = activate(gql, coupon["id"])

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["status"] == "ACTIVE"
    assert db.value("select status from coupons") == "ACTIVE"
    redemption = redeem(gql, code=coupon["code"], userId="alice", orderId="o-1", orderValue="50")
    assert redemption["errors"] == []
    assert redemption["discountAmount"] == "5.00"
    assert usage_rows(db) == 1


def test_activating_a_coupon_that_is_not_paused_leaves_it_active(gql):
    # given
    coupon = create_timed_coupon(gql)

    # when
    payload = activate(gql, coupon["id"])

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["status"] == "ACTIVE"


def test_activation_resumes_a_pause_but_the_limits_still_apply(gql, db):
    # given: a campaign used up, then paused
    coupon = create_timed_coupon(gql, code="ONCE-ONLY", maxUsesPerUser=1, maxTotalUses=1)
    redeem(gql, code="ONCE-ONLY", userId="alice", orderId="o-1", orderValue="50")
    deactivate(gql, coupon["id"])

    # when
    payload = activate(gql, coupon["id"])

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["status"] == "EXHAUSTED"
    redemption = redeem(gql, code="ONCE-ONLY", userId="bob", orderId="o-2", orderValue="50")
    assert error_codes(redemption) == ["EXHAUSTED"]
    assert usage_rows(db) == 1


def test_activating_an_expired_coupon_leaves_it_expired(gql, db):
    # given
    coupon = create_timed_coupon(gql)
    deactivate(gql, coupon["id"])
    db.execute(
        "update coupons set valid_from = now() - interval '2 days',"
        " valid_until = now() - interval '1 second' where id = $1",
        UUID(coupon["id"]),
    )

    # when
    payload = activate(gql, coupon["id"])

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["status"] == "EXPIRED"


# --- which coupon ---

BOTH = [
    pytest.param(DEACTIVATE_COUPON, "deactivateCoupon", id="deactivate"),
    pytest.param(ACTIVATE_COUPON, "activateCoupon", id="activate"),
]


@pytest.mark.parametrize(("mutation", "name"), BOTH)
def test_an_unknown_id_is_not_found(gql, db, mutation, name):
    # given
    create_timed_coupon(gql)

    # when
    payload = gql(mutation, {"id": str(uuid4())})[name]

    # then
    assert payload["coupon"] is None
    assert error_codes(payload) == ["NOT_FOUND"]
    assert db.value("select status from coupons") == "ACTIVE"


@pytest.mark.parametrize(("mutation", "name"), BOTH)
@pytest.mark.parametrize(
    "coupon_id",
    [
        pytest.param("", id="empty"),
        pytest.param("SUMMER-10", id="a-code"),
        pytest.param("00000000-0000-0000-0000-00000000000g", id="not-hex"),
        pytest.param("00000000-0000-0000-0000-00000000000\x00", id="NUL-byte"),
    ],
)
def test_a_malformed_id_is_invalid_input(gql, mutation, name, coupon_id):
    # when
    payload = gql(mutation, {"id": coupon_id})[name]

    # then
    assert payload["coupon"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [
        ("INVALID_INPUT", "id")
    ]
