"""createTimedCoupon: a campaign with its own or a generated code, a window and usage limits."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from tests.support.factories import create_user_coupon, iso, now, timed_coupon_input
from tests.support.graphql import GraphQLClient, assert_request_error

CREATE_TIMED_COUPON = """
mutation CreateTimedCoupon($input: CreateTimedCouponInput!) {
  createTimedCoupon(input: $input) {
    coupon {
      id code type discountType discountValue maxDiscountAmount minOrderValue description
      userId validFrom validUntil maxUsesPerUser maxTotalUses currentTotalUses status
      createdBy createdAt updatedAt
    }
    errors { code field message }
  }
}
"""

SAFE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I/L
GENERATED_CODE = re.compile(f"[A-Z]+-(?P<random>[{SAFE_ALPHABET}]{{10,}})")


def create(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    """The createTimedCoupon payload for the default input with `fields` changed."""
    payload: dict[str, Any] = gql(CREATE_TIMED_COUPON, {"input": timed_coupon_input(**fields)})[
        "createTimedCoupon"
    ]
    return payload


def assert_refused(payload: dict[str, Any], code: str, field: str) -> None:
    assert payload["coupon"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [(code, field)]
    assert payload["errors"][0]["message"]


def coupon_rows(db) -> int:
    count: int = db.value("select count(*) from coupons")
    return count


# --- success ---


def test_a_campaign_with_its_own_code_is_stored_upper_case(gql, db):
    # given
    fields = {
        "code": "summer-10",
        "discountType": "FIXED",
        "discountValue": "5",
        "minOrderValue": "20",
        "description": "Summer sale",
        "validFrom": "2099-06-01T00:00:00+00:00",
        "validUntil": "2099-09-01T00:00:00+00:00",
        "maxUsesPerUser": 2,
        "maxTotalUses": 1000,
        "createdBy": "marketing",
    }

    # when
    payload = create(gql, **fields)

    # then
    assert payload["errors"] == []
    coupon = payload["coupon"]
    UUID(coupon["id"])
    assert coupon["code"] == "SUMMER-10"
    assert coupon["type"] == "TIME_SPECIFIC"
    assert coupon["userId"] is None
    assert coupon["discountType"] == "FIXED"
    assert coupon["discountValue"] == "5.00"
    assert coupon["maxDiscountAmount"] is None
    assert coupon["minOrderValue"] == "20.00"
    assert coupon["description"] == "Summer sale"
    assert coupon["validFrom"] == "2099-06-01T00:00:00+00:00"
    assert coupon["validUntil"] == "2099-09-01T00:00:00+00:00"
    assert coupon["maxUsesPerUser"] == 2
    assert coupon["maxTotalUses"] == 1000
    assert coupon["currentTotalUses"] == 0
    assert coupon["status"] == "ACTIVE"  # a window yet to open is no status of its own
    assert coupon["createdBy"] == "marketing"
    assert coupon["createdAt"].endswith("+00:00")
    assert coupon["updatedAt"].endswith("+00:00")
    assert db.value("select code from coupons") == "SUMMER-10"


def test_surrounding_spaces_are_trimmed_from_a_code(gql, db):
    # when
    payload = create(gql, code="  summer-10 ")

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["code"] == "SUMMER-10"
    assert db.value("select code from coupons") == "SUMMER-10"


@pytest.mark.parametrize(
    "fields",
    [pytest.param({}, id="code-absent"), pytest.param({"code": None}, id="code-null")],
)
def test_a_campaign_without_a_code_gets_a_generated_one(gql, db, fields):
    # when
    payload = create(gql, **fields)

    # then
    assert payload["errors"] == []
    code = payload["coupon"]["code"]
    assert GENERATED_CODE.fullmatch(code), code
    assert db.value("select code from coupons") == code


def test_generated_campaign_codes_differ(gql, db):
    # given
    first = create(gql)["coupon"]["code"]

    # when
    second = create(gql)["coupon"]["code"]

    # then
    assert first != second
    assert coupon_rows(db) == 2


# --- codes ---


@pytest.mark.parametrize("duplicate", ["SUMMER-10", "summer-10", "Summer-10", " SUMMER-10 "])
def test_a_taken_code_is_refused_in_any_case(gql, db, duplicate):
    # given
    create(gql, code="SUMMER-10")

    # when
    payload = create(gql, code=duplicate)

    # then
    assert_refused(payload, "CODE_ALREADY_EXISTS", "code")
    assert coupon_rows(db) == 1


def test_a_user_coupons_code_is_taken_too(gql, db):
    # given
    user_code = create_user_coupon(gql, userId="alice")["code"]

    # when
    payload = create(gql, code=user_code.lower())

    # then
    assert_refused(payload, "CODE_ALREADY_EXISTS", "code")
    assert coupon_rows(db) == 1


@pytest.mark.parametrize(
    ("code", "stored"),
    [
        pytest.param("ABCD", "ABCD", id="4-chars"),
        pytest.param("a" * 50, "A" * 50, id="50-chars"),
        pytest.param("black_friday-2025", "BLACK_FRIDAY-2025", id="letters-digits-dash-underscore"),
        pytest.param("0O1IL", "0O1IL", id="look-alikes-are-fine-in-own-codes"),
    ],
)
def test_a_code_within_the_rules_is_accepted(gql, db, code, stored):
    # when
    payload = create(gql, code=code)

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["code"] == stored
    assert db.value("select code from coupons") == stored


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("ABC", id="3-chars"),
        pytest.param("  ABC  ", id="3-chars-after-trimming"),
        pytest.param("A" * 51, id="51-chars"),
        pytest.param("SUMMER 10", id="space-inside"),
        pytest.param("ÉTÉ-2025", id="accented-letter"),
        pytest.param("été-2025", id="accented-lower-case-letter"),
        pytest.param("SALE!", id="exclamation-mark"),
        pytest.param("SALE.10", id="dot"),
        pytest.param("SALE\x0010", id="NUL-byte"),
    ],
)
def test_a_code_outside_the_rules_is_refused(gql, db, code):
    # when
    payload = create(gql, code=code)

    # then
    assert_refused(payload, "INVALID_INPUT", "code")
    assert coupon_rows(db) == 0


# --- the window ---


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        pytest.param("2099-06-01T12:00:00", "2099-06-01T12:00:00+00:00", id="naive-is-UTC"),
        pytest.param("2099-06-01T12:00:00Z", "2099-06-01T12:00:00+00:00", id="Z"),
        pytest.param("2099-06-01T14:00:00+02:00", "2099-06-01T12:00:00+00:00", id="plus-2h"),
        pytest.param("2099-06-01T07:00:00-05:00", "2099-06-01T12:00:00+00:00", id="minus-5h"),
    ],
)
def test_window_moments_are_read_as_utc_and_answered_with_an_offset(gql, db, given, stored):
    # when
    payload = create(gql, validFrom=given, validUntil="2099-07-01T00:00:00")

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["validFrom"] == stored
    assert payload["coupon"]["validUntil"] == "2099-07-01T00:00:00+00:00"
    assert db.value("select valid_from = timestamptz '2099-06-01 12:00:00+00' from coupons")


def test_a_window_that_is_already_open_is_accepted(gql):
    # when
    payload = create(
        gql, validFrom=iso(now() - timedelta(days=30)), validUntil=iso(now() + timedelta(minutes=1))
    )

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        pytest.param("2099-06-01T12:00:00+00:00", "2099-06-01T12:00:00+00:00", id="equal"),
        pytest.param("2099-06-01T12:00:00+00:00", "2099-06-01T11:59:59+00:00", id="before"),
        pytest.param(
            "2099-06-01T12:00:00+00:00", "2099-06-01T13:00:00+02:00", id="before-once-in-UTC"
        ),
        pytest.param("2099-06-01T12:00:00", "2099-06-01T12:00:00+00:00", id="equal-naive-vs-UTC"),
    ],
)
def test_a_window_that_does_not_end_after_it_starts_is_refused(gql, db, valid_from, valid_until):
    # when
    payload = create(gql, validFrom=valid_from, validUntil=valid_until)

    # then
    assert_refused(payload, "INVALID_INPUT", "validUntil")
    assert coupon_rows(db) == 0


@pytest.mark.parametrize(
    ("field", "moment"),
    [
        # the driver would write these as infinity / -infinity and read them back changed
        ("validUntil", "9999-12-31T23:59:59.999999Z"),
        ("validUntil", "9999-12-31T23:59:59.999999"),
        ("validUntil", "9999-12-31T23:59:59.999999+00:00"),
        ("validFrom", "0001-01-01T00:00:00Z"),
        # outside years 1-9999 once in UTC
        ("validUntil", "9999-12-31T23:59:59-01:00"),
        ("validUntil", "9999-12-31T20:00:00-14:00"),
        ("validFrom", "0001-01-01T00:00:00+01:00"),
        ("validFrom", "0001-01-01T13:59:59+14:00"),
    ],
)
def test_a_moment_the_database_cannot_give_back_unchanged_is_refused(gql, db, field, moment):
    # when
    payload = create(gql, **{field: moment})

    # then
    assert_refused(payload, "INVALID_INPUT", field)
    assert coupon_rows(db) == 0


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        ("0001-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.999998Z"),
        ("0001-01-01T01:00:00.000001+01:00", "9999-12-31T22:59:59.999998-01:00"),
    ],
)
def test_the_widest_storable_window_is_kept_to_the_microsecond(gql, valid_from, valid_until):
    # when
    coupon = create(gql, code="WIDEST", validFrom=valid_from, validUntil=valid_until)["coupon"]

    # then it reads back exactly, in every read
    expected = ("0001-01-01T00:00:00.000001+00:00", "9999-12-31T23:59:59.999998+00:00")
    assert (coupon["validFrom"], coupon["validUntil"]) == expected
    looked_up = gql('{ couponByCode(code: "widest") { validFrom validUntil status } }')
    assert looked_up["couponByCode"] == {
        "validFrom": expected[0],
        "validUntil": expected[1],
        "status": "ACTIVE",
    }
    listed = gql("{ activeCampaigns { edges { node { code validUntil } } } }")
    assert listed["activeCampaigns"]["edges"] == [
        {"node": {"code": "WIDEST", "validUntil": expected[1]}}
    ]


@pytest.mark.parametrize(
    "closed_ago",
    [
        pytest.param(timedelta(days=1), id="yesterday"),
        pytest.param(timedelta(seconds=1), id="a-second-ago"),
    ],
)
def test_a_window_that_has_already_closed_is_refused(gql, db, closed_ago):
    # given
    valid_until = now() - closed_ago

    # when
    payload = create(
        gql, validFrom=iso(valid_until - timedelta(days=7)), validUntil=iso(valid_until)
    )

    # then
    assert_refused(payload, "INVALID_INPUT", "validUntil")
    assert coupon_rows(db) == 0


# --- usage limits ---


@pytest.mark.parametrize(
    ("fields", "per_user", "total"),
    [
        pytest.param({"maxUsesPerUser": 1}, 1, None, id="total-absent-is-unlimited"),
        pytest.param({"maxTotalUses": None}, 1, None, id="total-null-is-unlimited"),
        pytest.param({"maxUsesPerUser": 3, "maxTotalUses": 1}, 3, 1, id="total-1"),
        pytest.param(
            {"maxUsesPerUser": 2_147_483_647, "maxTotalUses": 2_147_483_647},
            2_147_483_647,
            2_147_483_647,
            id="largest-Int",
        ),
    ],
)
def test_usage_limits_at_their_bounds_are_accepted(gql, db, fields, per_user, total):
    # when
    payload = create(gql, **fields)

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["maxUsesPerUser"] == per_user
    assert payload["coupon"]["maxTotalUses"] == total
    assert db.value("select max_total_uses from coupons") == total


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"maxUsesPerUser": 0}, "maxUsesPerUser", id="per-user-0"),
        pytest.param({"maxUsesPerUser": -1}, "maxUsesPerUser", id="per-user-negative"),
        pytest.param({"maxTotalUses": 0}, "maxTotalUses", id="total-0"),
        pytest.param({"maxTotalUses": -5}, "maxTotalUses", id="total-negative"),
    ],
)
def test_usage_limits_below_one_are_refused(gql, db, fields, field):
    # when
    payload = create(gql, **fields)

    # then
    assert_refused(payload, "INVALID_INPUT", field)
    assert coupon_rows(db) == 0


# --- discount terms ---


def test_a_percentage_campaign_may_be_capped(gql, db):
    # when
    payload = create(gql, discountType="PERCENTAGE", discountValue="100", maxDiscountAmount="25")

    # then
    assert payload["errors"] == []
    assert payload["coupon"]["discountValue"] == "100.00"
    assert payload["coupon"]["maxDiscountAmount"] == "25.00"
    assert coupon_rows(db) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param(
            {"discountType": "PERCENTAGE", "discountValue": "100.01"},
            "discountValue",
            id="percentage-over-100",
        ),
        pytest.param({"discountValue": "0"}, "discountValue", id="discount-0"),
        pytest.param({"discountValue": "2.125"}, "discountValue", id="discount-3-places"),
        pytest.param(
            {"discountType": "FIXED", "discountValue": "5", "maxDiscountAmount": "5"},
            "maxDiscountAmount",
            id="cap-on-FIXED",
        ),
        pytest.param({"maxDiscountAmount": "0"}, "maxDiscountAmount", id="cap-0"),
        pytest.param({"maxDiscountAmount": "-1"}, "maxDiscountAmount", id="cap-negative"),
        pytest.param({"minOrderValue": "-1"}, "minOrderValue", id="minOrderValue-negative"),
        pytest.param({"description": "d" * 501}, "description", id="description-501"),
        pytest.param({"createdBy": "c" * 101}, "createdBy", id="createdBy-101"),
    ],
)
def test_discount_terms_outside_the_rules_are_refused(gql, db, fields, field):
    # when
    payload = create(gql, **fields)

    # then
    assert_refused(payload, "INVALID_INPUT", field)
    assert coupon_rows(db) == 0


# --- malformed GraphQL is a top-level error ---


def literal_input(fields: str) -> str:
    return f"mutation {{ createTimedCoupon(input: {{{fields}}}) {{ coupon {{ id }} }} }}"


WINDOW = 'validFrom: "2099-01-01T00:00:00", validUntil: "2099-02-01T00:00:00"'

# (id, query, variables)
TYPE_ERRORS: list[tuple[str, str, dict[str, Any] | None]] = [
    (
        "variable-string-for-Int",
        CREATE_TIMED_COUPON,
        {"input": timed_coupon_input(maxUsesPerUser="1")},
    ),
    (
        "variable-fraction-for-Int",
        CREATE_TIMED_COUPON,
        {"input": timed_coupon_input(maxTotalUses=1.5)},
    ),
    (
        "variable-Int-beyond-32-bits",
        CREATE_TIMED_COUPON,
        {"input": timed_coupon_input(maxTotalUses=2_147_483_648)},
    ),
    (
        "variable-missing-validFrom",
        CREATE_TIMED_COUPON,
        {"input": {k: v for k, v in timed_coupon_input().items() if k != "validFrom"}},
    ),
    (
        "variable-not-a-DateTime",
        CREATE_TIMED_COUPON,
        {"input": timed_coupon_input(validFrom="next tuesday")},
    ),
    (
        "literal-string-for-Int",
        literal_input(f'discountType: FIXED, discountValue: "1", {WINDOW}, maxUsesPerUser: "1"'),
        None,
    ),
    (
        "literal-missing-maxUsesPerUser",
        literal_input(f'discountType: FIXED, discountValue: "1", {WINDOW}'),
        None,
    ),
]


def type_errors() -> list[Any]:
    return [pytest.param(query, variables, id=id_) for id_, query, variables in TYPE_ERRORS]


@pytest.mark.parametrize(("query", "variables"), type_errors())
def test_a_type_error_is_a_request_error_and_writes_nothing(gql, db, query, variables):
    # when
    response = gql.post(query, variables)

    # then
    assert_request_error(response)
    assert coupon_rows(db) == 0
