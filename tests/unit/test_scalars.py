"""Scalars: `Decimal` is exact money from a string or a number, never a float; `DateTime` is
ISO-8601, read as UTC without an offset, written in UTC with an offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import (
    BooleanValueNode,
    EnumValueNode,
    FloatValueNode,
    GraphQLFormattedError,
    IntValueNode,
    NullValueNode,
    StringValueNode,
    ValueNode,
)
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.schema import schema
from graphql_api.schema.scalars import (
    parse_datetime,
    parse_datetime_literal,
    parse_decimal,
    parse_decimal_literal,
    serialize_datetime,
    serialize_decimal,
)

# Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.99", Decimal("19.99")),
        (" 5 ", Decimal("5")),
        ("-5", Decimal("-5")),  # a number: the money rules refuse it later
        ("+5", Decimal("5")),
        ("0.1", Decimal("0.1")),
        (".5", Decimal("0.5")),
        ("5.", Decimal("5")),
        ("1e3", Decimal("1E+3")),
        ("1.255", Decimal("1.255")),  # likewise: more than two places is the money rules' call
        ("1E+400", Decimal("1E+400")),
        (7, Decimal(7)),
        (0, Decimal(0)),
        (10**30, Decimal(10**30)),
        (Decimal("1.5"), Decimal("1.5")),  # a JSON number, read as Decimal by the HTTP view
    ],
)
def test_parse_decimal_accepts_numbers_and_numeric_strings_exactly(value, expected):
    # when
    parsed = parse_decimal(value)
    # then
    assert isinstance(parsed, Decimal)
    assert parsed == expected
    assert parsed.as_tuple() == expected.as_tuple()


@pytest.mark.parametrize("value", ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-inf", " INF "])
def test_parse_decimal_passes_non_finite_words_on_for_the_money_rules_to_refuse(value):
    # when
    parsed = parse_decimal(value)
    # then: a Decimal, so that the refusal is INVALID_INPUT naming the field
    assert isinstance(parsed, Decimal)
    assert not parsed.is_finite()


def test_parse_decimal_reads_nan_as_decimal_nan():
    assert parse_decimal("NaN").is_nan()


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        1.5,  # a binary float has already lost the amount
        0.1,
        float("nan"),
        "abc",
        "1_000",  # Decimal() itself would take it
        "1,000.00",
        "",
        "   ",
        "19.99 EUR",
        "$19.99",
        "0x10",
        "1e",
        "--1",
        "1.2.3",
        None,
        [],
        {"amount": "1"},
    ],
)
def test_parse_decimal_refuses_anything_else(value):
    with pytest.raises((TypeError, ValueError)):
        parse_decimal(value)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_finite_decimal_written_as_a_string_parses_back_exactly(amount):
    assert parse_decimal(str(amount)).as_tuple() == amount.as_tuple()


@given(st.integers())
def test_any_integer_parses_exactly(number):
    assert parse_decimal(number) == number
    assert parse_decimal(str(number)) == number


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (FloatValueNode(value="0.1"), Decimal("0.1")),
        (FloatValueNode(value="19.99"), Decimal("19.99")),
        (FloatValueNode(value="1e3"), Decimal("1E+3")),
        (IntValueNode(value="7"), Decimal(7)),
        (StringValueNode(value="25.00"), Decimal("25.00")),
    ],
)
def test_a_literal_is_read_from_its_own_text(node, expected):
    # when
    parsed = parse_decimal_literal(node)
    # then
    assert parsed.as_tuple() == expected.as_tuple()


def test_a_float_literal_never_passes_through_a_binary_float():
    parsed = parse_decimal_literal(FloatValueNode(value="0.1"))
    assert parsed == Decimal("0.1")
    assert parsed != Decimal.from_float(0.1)


@pytest.mark.parametrize(
    "node",
    [
        BooleanValueNode(value=True),
        NullValueNode(),
        EnumValueNode(value="NaN"),
        StringValueNode(value="abc"),
    ],
)
def test_a_literal_that_is_not_a_number_is_refused(node: ValueNode):
    with pytest.raises((TypeError, ValueError)):
        parse_decimal_literal(node)


@pytest.mark.parametrize(
    ("amount", "wire"),
    [("25", "25.00"), ("25.5", "25.50"), ("0", "0.00"), ("9999999999.99", "9999999999.99")],
)
def test_serialize_decimal_writes_two_places(amount, wire):
    assert serialize_decimal(Decimal(amount)) == wire


# DateTime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-01T00:00:00", datetime(2025, 6, 1, tzinfo=UTC)),  # no offset: UTC
        ("2025-06-01T00:00:00Z", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-06-01T00:00:00+00:00", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-06-01T02:00:00+02:00", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-05-31T19:00:00-05:00", datetime(2025, 6, 1, tzinfo=UTC)),
        (" 2025-06-01T00:00:00.250000Z ", datetime(2025, 6, 1, 0, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_parse_datetime_reads_iso_8601_as_the_same_instant(text, expected):
    # when
    parsed = parse_datetime(text)
    # then the same instant, in the offset it was written with (none: UTC)
    assert parsed == expected
    assert parsed.utcoffset() == datetime.fromisoformat(text.strip()).utcoffset() or (
        parsed.tzinfo is UTC
    )


def test_parse_datetime_reads_a_lower_case_t_and_z_as_rfc_3339_allows():
    assert parse_datetime("2025-06-01t02:00:00.250z") == datetime(
        2025, 6, 1, 2, 0, 0, 250000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.999999"]
)
def test_parse_datetime_leaves_moments_outside_the_storable_range_to_the_input_rules(text):
    # A scalar refusing them would be a GraphQL error: the input rules make them an
    # INVALID_INPUT naming the field (check_moment), as the contract says.
    parsed = parse_datetime(text)
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2025-13-01T00:00:00",
        "2025-06-01T25:00:00",
        "01/06/2025",
        "2025-06-01T00:00:00+25:00",
        "2016-12-31T23:59:60Z",  # a leap second: RFC 3339 has them, Python's datetime does not
    ],
)
def test_parse_datetime_refuses_what_is_not_iso_8601(value):
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_datetime(value)


@pytest.mark.parametrize("value", [1_717_200_000, None, datetime(2025, 6, 1, tzinfo=UTC)])
def test_parse_datetime_refuses_what_is_not_a_string(value):
    with pytest.raises(TypeError):
        parse_datetime(value)


def test_a_datetime_literal_must_be_a_string():
    assert parse_datetime_literal(StringValueNode(value="2025-06-01T00:00:00")) == datetime(
        2025, 6, 1, tzinfo=UTC
    )
    with pytest.raises((TypeError, ValueError)):
        parse_datetime_literal(IntValueNode(value="1717200000"))


@pytest.mark.parametrize(
    ("moment", "wire"),
    [
        (datetime(2025, 6, 1, tzinfo=UTC), "2025-06-01T00:00:00+00:00"),
        (datetime(2025, 6, 1, 2, tzinfo=timezone(timedelta(hours=2))), "2025-06-01T00:00:00+00:00"),
        (datetime(2025, 6, 1, 0, 0, 0, 5, tzinfo=UTC), "2025-06-01T00:00:00.000005+00:00"),
    ],
)
def test_serialize_datetime_writes_utc_with_an_offset(moment, wire):
    # when
    written = serialize_datetime(moment)
    # then
    assert written == wire
    assert written.endswith("+00:00")


@given(st.datetimes(timezones=st.timezones()))
def test_any_moment_survives_serialize_then_parse(moment):
    # when
    written = serialize_datetime(moment)
    # then
    assert written.endswith("+00:00")
    assert parse_datetime(written) == moment.astimezone(UTC)


# Malformed scalars through the schema: the GraphQL spec's validation errors


def execute(query: str, variables: dict[str, Any] | None = None) -> list[GraphQLFormattedError]:
    """The top-level errors of `query`, which must fail before any resolver runs."""
    result = schema.execute_sync(
        query, variable_values=variables, context_value=SimpleNamespace(request_id="test")
    )
    assert result.errors, "expected the request to be refused"
    return [error.formatted for error in result.errors]


VALIDATE_WITH_VARIABLE = """
query ($orderValue: Decimal!) {
  validateCoupon(input: {code: "X", userId: "u", orderValue: $orderValue}) { valid }
}
"""
VALIDATE_WITH_LITERAL = """
query { validateCoupon(input: {code: "X", userId: "u", orderValue: "abc"}) { valid } }
"""
CREATE_TIMED_WITH_VARIABLE = """
mutation ($at: DateTime!) {
  createTimedCoupon(input: {discountType: FIXED, discountValue: "1", validFrom: $at,
                            validUntil: $at, maxUsesPerUser: 1}) { errors { code } }
}
"""
USER_COUPONS_WITH_VARIABLE = """
query ($first: Int!) { userCoupons(userId: "u", first: $first) { totalCount } }
"""


def test_a_literal_string_for_an_int_is_a_graphql_error_that_says_so():
    # when
    errors = execute('query { userCoupons(userId: "u", first: "x") { totalCount } }')
    # then
    assert "Int" in errors[0]["message"]
    assert errors[0].get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(VALIDATE_WITH_VARIABLE, {"orderValue": "abc"}, id="Decimal-variable"),
        pytest.param(VALIDATE_WITH_VARIABLE, {"orderValue": True}, id="Decimal-variable-bool"),
        pytest.param(VALIDATE_WITH_LITERAL, None, id="Decimal-literal"),
        pytest.param(CREATE_TIMED_WITH_VARIABLE, {"at": "yesterday"}, id="DateTime-variable"),
        # the contract's own example: "a string for an Int"
        pytest.param(USER_COUPONS_WITH_VARIABLE, {"first": "x"}, id="Int-variable"),
        pytest.param(USER_COUPONS_WITH_VARIABLE, {}, id="missing-required-variable"),
    ],
)
def test_a_malformed_input_value_is_a_graphql_error_not_an_internal_error(query, variables):
    # when
    errors = execute(query, variables)
    # then
    assert all(
        error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR" for error in errors
    )
