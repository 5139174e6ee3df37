"""Money: exact decimals, two places, one rounding rule."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

from graphql_api.domain.errors import invalid

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
HUNDRED = Decimal(100)

# Enough digits for the largest amount times the largest percentage, with room to spare.
_MONEY_CONTEXT = Context(prec=40, rounding=ROUND_HALF_UP)


def to_cents(value: Decimal) -> Decimal:
    """Round to whole cents, half away from zero: the only rounding in the service."""
    with localcontext(_MONEY_CONTEXT):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_amount(value: Decimal, field: str, *, allow_zero: bool = False) -> Decimal:
    """Return `value` in cents if it is a finite amount the service accepts, else INVALID_INPUT.

    Trailing zeros are not places: `25.000` is accepted as `25.00`, `25.001` is refused.
    """
    if not value.is_finite():
        raise invalid(field, f"{field} must be a finite number")
    try:
        in_cents = to_cents(value)
    except InvalidOperation:
        raise invalid(field, f"{field} is out of range") from None
    if in_cents != value:
        raise invalid(field, f"{field} has more than two decimal places")
    in_cents = in_cents.copy_abs() if in_cents.is_zero() else in_cents  # no "-0.00"
    if in_cents < 0 or (in_cents == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        raise invalid(field, f"{field} must be {bound}")
    if in_cents > MAX_AMOUNT:
        raise invalid(field, f"{field} must be at most {MAX_AMOUNT}")
    return in_cents


def format_amount(value: Decimal) -> str:
    """The wire form of an amount: a plain string with exactly two places."""
    return f"{to_cents(value):f}"
