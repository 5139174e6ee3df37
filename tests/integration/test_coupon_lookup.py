"""couponByCode and coupon(id): one coupon, with the status in effect when it is read."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.support.factories import create_timed_coupon, create_user_coupon
from tests.support.graphql import GraphQLClient

# Both answering paths, as an admin and as a storefront (see conftest).
pytestmark = pytest.mark.every_answerer

COUPON_BY_CODE = """
query CouponByCode($code: String!) {
  couponByCode(code: $code) { id code type status currentTotalUses maxTotalUses validUntil }
}
"""

COUPON_BY_ID = """
query Coupon($id: ID!) {
  coupon(id: $id) { id code type status currentTotalUses maxTotalUses validUntil }
}
"""


def by_code(gql: GraphQLClient, code: str) -> dict[str, Any] | None:
    coupon: dict[str, Any] | None = gql(COUPON_BY_CODE, {"code": code})["couponByCode"]
    return coupon


def by_id(gql: GraphQLClient, coupon_id: str) -> dict[str, Any] | None:
    coupon: dict[str, Any] | None = gql(COUPON_BY_ID, {"id": coupon_id})["coupon"]
    return coupon


def statuses(gql: GraphQLClient, coupon: dict[str, Any]) -> tuple[str, str]:
    """The status as couponByCode and as coupon(id) report it."""
    found_by_code = by_code(gql, coupon["code"])
    found_by_id = by_id(gql, coupon["id"])
    assert found_by_code is not None
    assert found_by_id is not None
    return found_by_code["status"], found_by_id["status"]


def assert_invalid_argument(errors: list[dict[str, Any]], field: str) -> None:
    assert len(errors) == 1, errors
    assert errors[0]["extensions"]["code"] == "INVALID_INPUT", errors
    assert errors[0]["extensions"].get("field") == field, errors


# --- couponByCode ---


@pytest.mark.parametrize(
    "asked",
    ["SUMMER-10", "summer-10", "Summer-10", "  summer-10  ", " SUMMER-10"],
)
def test_a_code_is_found_in_any_case_and_with_surrounding_spaces(gql, asked):
    # given
    coupon = create_timed_coupon(gql, code="SUMMER-10")

    # when
    found = by_code(gql, asked)

    # then
    assert found is not None
    assert found["id"] == coupon["id"]
    assert found["code"] == "SUMMER-10"


def test_a_generated_user_code_is_found_in_lower_case(gql):
    # given
    coupon = create_user_coupon(gql, userId="alice")

    # when
    found = by_code(gql, coupon["code"].lower())

    # then
    assert found is not None
    assert found["id"] == coupon["id"]
    assert found["type"] == "USER_SPECIFIC"


@pytest.mark.parametrize("asked", ["NOPE", "SUMMER-1", "SUMMER-100", "X" * 50])
def test_an_unknown_code_is_null(gql, asked):
    # given
    create_timed_coupon(gql, code="SUMMER-10")

    # when
    found = by_code(gql, asked)

    # then
    assert found is None


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("X" * 51, id="51-chars"),
        pytest.param("X" * 10_000, id="10000-chars"),
        pytest.param("SUMMER\x0010", id="NUL-byte"),
        pytest.param("", id="empty"),
    ],
)
def test_a_code_no_coupon_can_have_is_a_top_level_invalid_input(gql, code):
    # when
    errors = gql.errors(COUPON_BY_CODE, {"code": code})

    # then
    assert_invalid_argument(errors, "code")


def test_a_code_with_a_lone_surrogate_is_a_top_level_invalid_input(gql):
    # given: json.dumps escapes the surrogate as \ud800, which is valid JSON text
    body = json.dumps({"query": COUPON_BY_CODE, "variables": {"code": "SUMMER\ud800"}})

    # when
    response = gql.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})

    # then
    assert response.status_code == 200, response.text
    assert_invalid_argument(response.json()["errors"], "code")


# --- coupon(id) ---


def test_a_coupon_is_found_by_its_id(gql):
    # given
    coupon = create_timed_coupon(gql, code="SUMMER-10")

    # when
    found = by_id(gql, coupon["id"])

    # then
    assert found is not None
    assert found["id"] == coupon["id"]
    assert found["code"] == "SUMMER-10"


def test_an_unknown_id_is_null(gql):
    # given
    create_timed_coupon(gql, code="SUMMER-10")

    # when
    found = by_id(gql, str(uuid4()))

    # then
    assert found is None


@pytest.mark.parametrize(
    "coupon_id",
    [
        pytest.param("", id="empty"),
        pytest.param("42", id="a-number"),
        pytest.param("SUMMER-10", id="a-code"),
        pytest.param("00000000-0000-0000-0000-00000000000g", id="not-hex"),
        pytest.param("00000000-0000-0000-0000-0000000000000", id="one-digit-too-many"),
        pytest.param("00000000-0000-0000-0000-00000000000\x00", id="NUL-byte"),
        pytest.param("x" * 10_000, id="10000-chars"),
    ],
)
def test_a_malformed_id_is_a_top_level_invalid_input(gql, coupon_id):
    # when
    errors = gql.errors(COUPON_BY_ID, {"id": coupon_id})

    # then
    assert_invalid_argument(errors, "id")


# --- the status is the one in effect when read ---


def test_a_timed_coupon_whose_uses_ran_out_reads_exhausted(gql, db):
    # given: the count reached the limit, and the stored status was never rewritten
    coupon = create_timed_coupon(gql, maxUsesPerUser=1, maxTotalUses=3)
    db.execute(
        "update coupons set current_total_uses = max_total_uses where id = $1", UUID(coupon["id"])
    )
    assert db.value("select status from coupons") == "ACTIVE"

    # when
    read = statuses(gql, coupon)

    # then
    assert read == ("EXHAUSTED", "EXHAUSTED")


def test_a_user_coupon_that_was_used_reads_exhausted(gql, db):
    # given
    coupon = create_user_coupon(gql, userId="alice")
    db.execute("update coupons set current_total_uses = 1 where id = $1", UUID(coupon["id"]))
    assert db.value("select status from coupons") == "ACTIVE"

    # when
    read = statuses(gql, coupon)

    # then
    assert read == ("EXHAUSTED", "EXHAUSTED")


def test_a_coupon_with_uses_left_reads_active(gql, db):
    # given
    coupon = create_timed_coupon(gql, maxUsesPerUser=1, maxTotalUses=3)
    db.execute("update coupons set current_total_uses = 2 where id = $1", UUID(coupon["id"]))

    # when
    read = statuses(gql, coupon)

    # then
    assert read == ("ACTIVE", "ACTIVE")


def test_a_coupon_whose_window_has_closed_reads_expired(gql, db):
    # given: validUntil passed a moment ago, and no sweep has written EXPIRED
    coupon = create_timed_coupon(gql)
    db.execute(
        "update coupons set valid_from = now() - interval '2 days',"
        " valid_until = now() - interval '1 second' where id = $1",
        UUID(coupon["id"]),
    )
    assert db.value("select status from coupons") == "ACTIVE"

    # when
    read = statuses(gql, coupon)

    # then
    assert read == ("EXPIRED", "EXPIRED")


def test_expired_wins_over_exhausted(gql, db):
    # given
    coupon = create_timed_coupon(gql, maxUsesPerUser=1, maxTotalUses=1)
    db.execute(
        "update coupons set current_total_uses = max_total_uses,"
        " valid_from = now() - interval '2 days', valid_until = now() - interval '1 second'"
        " where id = $1",
        UUID(coupon["id"]),
    )

    # when
    read = statuses(gql, coupon)

    # then
    assert read == ("EXPIRED", "EXPIRED")


def test_inactive_wins_over_expired_and_exhausted(gql, db):
    # given
    coupon = create_timed_coupon(gql, maxUsesPerUser=1, maxTotalUses=1)
    db.execute(
        "update coupons set status = 'INACTIVE', current_total_uses = max_total_uses,"
        " valid_from = now() - interval '2 days', valid_until = now() - interval '1 second'"
        " where id = $1",
        UUID(coupon["id"]),
    )

    # when
    read = statuses(gql, coupon)

    # then
    assert read == ("INACTIVE", "INACTIVE")


def test_a_window_yet_to_open_reads_active(gql):
    # given: CouponStatus has no "not yet valid"; redemption answers NOT_YET_VALID instead
    coupon = create_timed_coupon(
        gql, validFrom="2099-01-01T00:00:00+00:00", validUntil="2099-02-01T00:00:00+00:00"
    )

    # when
    read = statuses(gql, coupon)

    # then
    assert read == ("ACTIVE", "ACTIVE")
