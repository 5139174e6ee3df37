"""The two custom scalars: exact money and UTC timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from graphql_api.domain.inputs import as_utc
from graphql_api.domain.money import format_amount

# Numbers as people write them, plus the words Decimal knows for non-finite values, which the
# money rules then refuse with INVALID_INPUT naming the field. Anything else is not a Decimal.
_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*", re.ASCII)
_NON_FINITE = re.compile(r"\s*[+-]?(nan|snan|inf|infinity)\s*", re.IGNORECASE | re.ASCII)


def parse_decimal(value: Any) -> Decimal:
    """A Decimal from a string, an integer, or a JSON number read as Decimal (never a float)."""
    if isinstance(value, bool):
        raise TypeError("Decimal cannot represent a boolean")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str) and (_NUMBER.fullmatch(value) or _NON_FINITE.fullmatch(value)):
        try:
            return Decimal(value.strip())
        except ArithmeticError:  # an exponent beyond what Decimal can hold
            raise ValueError(f"Decimal cannot represent {value!r}: out of range") from None
    raise ValueError(f"Decimal cannot represent {value!r}: send a number or a numeric string")


def parse_decimal_literal(node: ValueNode, _variables: Any = None) -> Decimal:
    # The literal's own text, so that 19.99 in a query never becomes a binary float.
    if isinstance(node, IntValueNode | FloatValueNode | StringValueNode):
        return parse_decimal(node.value)
    raise ValueError("Decimal must be a number or a numeric string")


def serialize_decimal(value: Decimal) -> str:
    return format_amount(value)


def parse_datetime(value: Any) -> datetime:
    """An aware datetime in the offset it was written with (none: UTC).

    Not converted to UTC here: a moment whose conversion leaves years 1-9999 is the
    input rules' to refuse, as INVALID_INPUT naming the field (`check_moment`).
    """
    if not isinstance(value, str):
        raise TypeError("DateTime must be an ISO-8601 string")
    try:
        # RFC 3339 lets `T` and `Z` be written in lower case; fromisoformat takes upper only.
        moment = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        raise ValueError(f"DateTime cannot represent {value!r}: use ISO-8601") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_datetime_literal(node: ValueNode, _variables: Any = None) -> datetime:
    if isinstance(node, StringValueNode):
        return parse_datetime(node.value)
    raise ValueError("DateTime must be an ISO-8601 string")


def serialize_datetime(value: datetime) -> str:
    return as_utc(value).isoformat()


# What @specifiedBy names: the published standard each scalar's output is a subset of (as the
# GraphQL spec's UUID example allows), fixed versions, absolute URLs (Hot Chocolate's clients
# read the URL with `new Uri(...)`, which refuses a relative one). docs/scalars.md gives the
# exact subset and what inputs are read beyond it. No GraphQL scalar spec fits either: the
# GraphQL Scalars project's DateTime (andimarek) demands exactly three fraction digits and
# ChilliCream's Decimal is a JSON number, both unlike what this service writes.
DECIMAL_SPECIFIED_BY = "https://www.w3.org/TR/2012/REC-xmlschema11-2-20120405/#decimal"
DATETIME_SPECIFIED_BY = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"

DecimalScalar = strawberry.scalar(
    name="Decimal",
    description=(
        'An exact amount of money as a string with two decimal places, e.g. "25.00". '
        "Inputs accept a string or a number, at most two decimal places, at most 9999999999.99."
    ),
    specified_by_url=DECIMAL_SPECIFIED_BY,
    serialize=serialize_decimal,
    parse_value=parse_decimal,
    parse_literal=parse_decimal_literal,
)

DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description=(
        "An ISO-8601 moment. Output is always UTC with an offset (2025-06-01T00:00:00+00:00); "
        "an input without an offset is read as UTC."
    ),
    specified_by_url=DATETIME_SPECIFIED_BY,
    serialize=serialize_datetime,
    parse_value=parse_datetime,
    parse_literal=parse_datetime_literal,
)

SCALARS: dict[object, ScalarDefinition] = {Decimal: DecimalScalar, datetime: DateTimeScalar}
