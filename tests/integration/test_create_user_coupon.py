"""createUserCoupon: a single-use coupon for one user, with a code nobody can guess."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from graphql_api.domain.codes import generate_code as draw_code
from graphql_api.services import coupon_creation
from tests.support.factories import user_coupon_input
from tests.support.graphql import GraphQLClient, assert_request_error

CREATE_USER_COUPON = """
mutation CreateUserCoupon($input: CreateUserCouponInput!) {
  createUserCoupon(input: $input) {
    coupon {
      id code type discountType discountValue maxDiscountAmount minOrderValue description
      userId validFrom validUntil maxUsesPerUser maxTotalUses currentTotalUses status
      createdBy createdAt updatedAt
    }
    errors { code field message }
  }
}
"""

# Money written into the query itself: the literal's digits must survive, as for variables.
CREATE_WITH_LITERAL_MONEY = """
mutation {
  createUserCoupon(input: {
    userId: "alice", discountType: PERCENTAGE, discountValue: 12.5,
    maxDiscountAmount: 9999999999.99, minOrderValue: 0.29
  }) {
    coupon { discountValue maxDiscountAmount minOrderValue }
    errors { code field }
  }
}
"""

SAFE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I/L
USER_CODE = re.compile(f"USER-[{SAFE_ALPHABET}]{{10,}}")


def create(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    """The createUserCoupon payload for the default input with `fields` changed."""
    payload: dict[str, Any] = gql(CREATE_USER_COUPON, {"input": user_coupon_input(**fields)})[
        "createUserCoupon"
    ]
    return payload


def post_json_text(gql: GraphQLClient, body: str) -> httpx.Response:
    """POST a request body written by hand, so a test controls every character on the wire."""
    return gql.http.post("/graphql", content=body, headers={"Content-Type": "application/json"})


def body_with_discount_value(json_number: str) -> str:
    """A createUserCoupon request whose discountValue is `json_number`, written as is."""
    return (
        '{"query": '
        + json.dumps(CREATE_USER_COUPON)
        + ', "variables": {"input": {"userId": "alice", "discountType": "FIXED", "discountValue": '
        + json_number
        + "}}}"
    )


def assert_refused(payload: dict[str, Any], field: str) -> None:
    assert payload["coupon"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [
        ("INVALID_INPUT", field)
    ]
    assert payload["errors"][0]["message"]


def coupon_rows(db) -> int:
    count: int = db.value("select count(*) from coupons")
    return count


# --- success ---


def test_a_user_coupon_is_single_use_with_a_generated_code(gql, db):
    # given
    fields = {"userId": "alice", "discountType": "FIXED", "discountValue": "10"}

    # when
    payload = create(gql, **fields)

    # then
    assert payload["errors"] == []
    coupon = payload["coupon"]
    UUID(coupon["id"])
    assert USER_CODE.fullmatch(coupon["code"]), coupon["code"]
    assert coupon["type"] == "USER_SPECIFIC"
    assert coupon["userId"] == "alice"
    assert coupon["discountType"] == "FIXED"
    assert coupon["discountValue"] == "10.00"
    assert coupon["maxDiscountAmount"] is None
    assert coupon["minOrderValue"] == "0.00"
    assert coupon["description"] is None
    assert coupon["createdBy"] is None
    assert coupon["maxUsesPerUser"] == 1
    assert coupon["maxTotalUses"] == 1
    assert coupon["validFrom"] is None
    assert coupon["validUntil"] is None
    assert coupon["currentTotalUses"] == 0
    assert coupon["status"] == "ACTIVE"
    assert coupon["createdAt"].endswith("+00:00")
    assert coupon["updatedAt"].endswith("+00:00")
    row = db.fetch("select id, code, user_id, discount_value from coupons")
    assert [tuple(r) for r in row] == [
        (UUID(coupon["id"]), coupon["code"], "alice", Decimal("10.00"))
    ]


def test_every_optional_field_is_stored_as_given(gql, db):
    # given
    fields = {
        "userId": "bob",
        "discountType": "PERCENTAGE",
        "discountValue": "12.5",
        "maxDiscountAmount": "20",
        "minOrderValue": "30.1",
        "description": "Sorry about the late parcel.\nEnjoy 12.5% off.",
        "createdBy": "support-agent-7",
    }

    # when
    payload = create(gql, **fields)

    # then
    assert payload["errors"] == []
    coupon = payload["coupon"]
    assert coupon["discountType"] == "PERCENTAGE"
    assert coupon["discountValue"] == "12.50"
    assert coupon["maxDiscountAmount"] == "20.00"
    assert coupon["minOrderValue"] == "30.10"
    assert coupon["description"] == "Sorry about the late parcel.\nEnjoy 12.5% off."
    assert coupon["createdBy"] == "support-agent-7"
    row = db.fetch("select discount_value, max_discount_amount, min_order_value from coupons")[0]
    assert tuple(row) == (Decimal("12.50"), Decimal("20.00"), Decimal("30.10"))


def test_each_coupon_gets_its_own_code(gql, db):
    # given
    first = create(gql, userId="alice")["coupon"]

    # when
    second = create(gql, userId="alice")["coupon"]

    # then
    assert first["code"] != second["code"]
    assert USER_CODE.fullmatch(second["code"])
    assert coupon_rows(db) == 2


def test_a_generated_code_that_is_taken_is_retried_not_surfaced(gql, db, monkeypatch):
    # given: the generator's next draw is a code that already exists
    taken = create(gql, userId="alice")["coupon"]["code"]
    draws = iter([taken])

    def generate_code(prefix: str) -> str:
        return next(draws, None) or draw_code(prefix)

    # The server runs in this process (a thread), so this patches the code it runs.
    monkeypatch.setattr(coupon_creation, "generate_code", generate_code)

    # when
    payload = create(gql, userId="bob")

    # then
    assert list(draws) == []  # the taken code was drawn, and then another
    assert payload["errors"] == []
    assert payload["coupon"]["code"] != taken
    assert USER_CODE.fullmatch(payload["coupon"]["code"])
    assert coupon_rows(db) == 2


# --- input rules at their boundaries ---


@pytest.mark.parametrize(
    ("fields", "output", "expected"),
    [
        pytest.param({"userId": "u"}, "userId", "u", id="userId-1-char"),
        pytest.param({"userId": "u" * 100}, "userId", "u" * 100, id="userId-100-chars"),
        pytest.param({"discountValue": "0.01"}, "discountValue", "0.01", id="discount-1-cent"),
        pytest.param(
            {"discountValue": "9999999999.99"},
            "discountValue",
            "9999999999.99",
            id="fixed-discount-at-max-amount",
        ),
        pytest.param(
            {"discountType": "PERCENTAGE", "discountValue": "100"},
            "discountValue",
            "100.00",
            id="percentage-100",
        ),
        pytest.param(
            {"discountType": "PERCENTAGE", "maxDiscountAmount": "0.01"},
            "maxDiscountAmount",
            "0.01",
            id="cap-1-cent",
        ),
        pytest.param({"minOrderValue": "0"}, "minOrderValue", "0.00", id="minOrderValue-0"),
        pytest.param(
            {"minOrderValue": "9999999999.99"},
            "minOrderValue",
            "9999999999.99",
            id="minOrderValue-at-max-amount",
        ),
        pytest.param({"description": "d" * 500}, "description", "d" * 500, id="description-500"),
        pytest.param({"createdBy": "c" * 100}, "createdBy", "c" * 100, id="createdBy-100"),
    ],
)
def test_an_input_at_its_limit_is_accepted(gql, db, fields, output, expected):
    # when
    payload = create(gql, **fields)

    # then
    assert payload["errors"] == []
    assert payload["coupon"][output] == expected
    assert coupon_rows(db) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"userId": ""}, "userId", id="userId-empty"),
        pytest.param({"userId": "u" * 101}, "userId", id="userId-101-chars"),
        pytest.param({"userId": "user\x00one"}, "userId", id="userId-NUL-byte"),
        pytest.param({"userId": "u" * 10_000}, "userId", id="userId-10000-chars"),
        pytest.param({"discountValue": "0"}, "discountValue", id="discount-0"),
        pytest.param({"discountValue": "0.00"}, "discountValue", id="discount-0.00"),
        pytest.param({"discountValue": "-5"}, "discountValue", id="discount-negative"),
        pytest.param({"discountValue": "1.005"}, "discountValue", id="discount-3-places"),
        pytest.param({"discountValue": "NaN"}, "discountValue", id="discount-NaN"),
        pytest.param({"discountValue": "Infinity"}, "discountValue", id="discount-Infinity"),
        pytest.param({"discountValue": "-Infinity"}, "discountValue", id="discount-minus-Infinity"),
        pytest.param(
            {"discountValue": "10000000000.00"}, "discountValue", id="fixed-discount-over-max"
        ),
        pytest.param(
            {"discountType": "PERCENTAGE", "discountValue": "100.01"},
            "discountValue",
            id="percentage-over-100",
        ),
        pytest.param({"maxDiscountAmount": "5"}, "maxDiscountAmount", id="cap-on-FIXED"),
        pytest.param(
            {"discountType": "PERCENTAGE", "maxDiscountAmount": "0"},
            "maxDiscountAmount",
            id="cap-0",
        ),
        pytest.param(
            {"discountType": "PERCENTAGE", "maxDiscountAmount": "-1"},
            "maxDiscountAmount",
            id="cap-negative",
        ),
        pytest.param(
            {"discountType": "PERCENTAGE", "maxDiscountAmount": "1.005"},
            "maxDiscountAmount",
            id="cap-3-places",
        ),
        pytest.param({"minOrderValue": "-0.01"}, "minOrderValue", id="minOrderValue-negative"),
        pytest.param({"minOrderValue": "0.001"}, "minOrderValue", id="minOrderValue-3-places"),
        pytest.param(
            {"minOrderValue": "10000000000"}, "minOrderValue", id="minOrderValue-over-max"
        ),
        pytest.param({"description": "d" * 501}, "description", id="description-501"),
        pytest.param({"description": "a\x00b"}, "description", id="description-NUL-byte"),
        pytest.param({"createdBy": "c" * 101}, "createdBy", id="createdBy-101"),
        pytest.param({"createdBy": "ops\x00"}, "createdBy", id="createdBy-NUL-byte"),
    ],
)
def test_an_input_past_its_limit_is_refused_and_nothing_is_written(gql, db, fields, field):
    # when
    payload = create(gql, **fields)

    # then
    assert_refused(payload, field)
    assert coupon_rows(db) == 0


# --- money stays exact on the way in ---


@pytest.mark.parametrize(
    ("json_number", "expected"),
    [
        ("12.5", Decimal("12.50")),
        ("0.29", Decimal("0.29")),  # 0.28999999999999998 as a binary float
        ("19.99", Decimal("19.99")),
        ("9999999999.99", Decimal("9999999999.99")),  # 9999999999.9899997711 as a float
        ("10", Decimal("10.00")),
        ("1e1", Decimal("10.00")),
        ("2.5E+1", Decimal("25.00")),
    ],
)
def test_money_sent_as_a_json_number_stays_exact(gql, db, json_number, expected):
    # given
    body = body_with_discount_value(json_number)

    # when
    response = post_json_text(gql, body)

    # then
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["createUserCoupon"]
    assert payload["errors"] == []
    assert payload["coupon"]["discountValue"] == f"{expected:f}"
    assert db.value("select discount_value from coupons") == expected


@pytest.mark.parametrize(
    "json_number",
    [
        pytest.param("1.005", id="3-places"),
        pytest.param("10000000000", id="over-max"),
        pytest.param("1e400", id="far-over-max"),
        pytest.param("0", id="zero"),
        pytest.param("-0.5", id="negative"),
    ],
)
def test_a_json_number_that_breaks_a_money_rule_is_invalid_input(gql, db, json_number):
    # given
    body = body_with_discount_value(json_number)

    # when
    response = post_json_text(gql, body)

    # then
    assert response.status_code == 200, response.text
    assert_refused(response.json()["data"]["createUserCoupon"], "discountValue")
    assert coupon_rows(db) == 0


@pytest.mark.parametrize(
    "json_number",
    [pytest.param("9" * 5000, id="5000-digits"), pytest.param("1e999999999999999999999", id="exp")],
)
def test_a_json_number_beyond_any_amount_is_refused_not_a_server_error(gql, db, json_number):
    # given
    body = body_with_discount_value(json_number)

    # when
    response = post_json_text(gql, body)

    # then: a number no amount can be is malformed JSON for this service, never a 5xx
    assert response.status_code == 400, response.text
    assert coupon_rows(db) == 0


def test_money_written_in_the_query_stays_exact(gql, db):
    # when
    payload = gql(CREATE_WITH_LITERAL_MONEY)["createUserCoupon"]

    # then
    assert payload["errors"] == []
    assert payload["coupon"] == {
        "discountValue": "12.50",
        "maxDiscountAmount": "9999999999.99",
        "minOrderValue": "0.29",
    }
    row = db.fetch("select discount_value, max_discount_amount, min_order_value from coupons")[0]
    assert tuple(row) == (Decimal("12.50"), Decimal("9999999999.99"), Decimal("0.29"))


# --- malformed GraphQL is a top-level error ---


def literal_input(fields: str) -> str:
    return f"mutation {{ createUserCoupon(input: {{{fields}}}) {{ coupon {{ id }} }} }}"


# (id, query, variables)
TYPE_ERRORS: list[tuple[str, str, dict[str, Any] | None]] = [
    (
        "variable-string-for-Decimal",
        CREATE_USER_COUPON,
        {"input": user_coupon_input(discountValue="abc")},
    ),
    (
        "variable-missing-userId",
        CREATE_USER_COUPON,
        {"input": {"discountType": "FIXED", "discountValue": "1"}},
    ),
    (
        "variable-number-for-String",
        CREATE_USER_COUPON,
        {"input": user_coupon_input(userId=5)},
    ),
    (
        "variable-unknown-enum-value",
        CREATE_USER_COUPON,
        {"input": user_coupon_input(discountType="HALF_OFF")},
    ),
    (
        "literal-string-for-Decimal",
        literal_input('userId: "u", discountType: FIXED, discountValue: "abc"'),
        None,
    ),
    (
        "literal-missing-userId",
        literal_input('discountType: FIXED, discountValue: "1"'),
        None,
    ),
    (
        "literal-number-for-String",
        literal_input('userId: 5, discountType: FIXED, discountValue: "1"'),
        None,
    ),
    (
        "literal-string-for-enum",
        literal_input('userId: "u", discountType: "FIXED", discountValue: "1"'),
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


# --- text that cannot be stored ---


@pytest.mark.parametrize("field", ["userId", "description", "createdBy"])
def test_text_with_a_lone_surrogate_is_refused_not_a_server_error(gql, db, field):
    # given: json.dumps escapes the surrogate as \ud800, which is valid JSON text
    body = json.dumps(
        {
            "query": CREATE_USER_COUPON,
            "variables": {"input": user_coupon_input(**{field: "a\ud800"})},
        }
    )

    # when
    response = post_json_text(gql, body)

    # then
    assert response.status_code == 200, response.text
    result = response.json()
    assert "errors" not in result, result["errors"]
    assert_refused(result["data"]["createUserCoupon"], field)
    assert coupon_rows(db) == 0
