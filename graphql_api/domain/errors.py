"""The one error family every coupon rule raises."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why an operation was refused; clients branch on these."""

    INVALID_INPUT = "INVALID_INPUT"
    CODE_ALREADY_EXISTS = "CODE_ALREADY_EXISTS"
    NOT_FOUND = "NOT_FOUND"
    INACTIVE = "INACTIVE"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    MIN_ORDER_VALUE_NOT_MET = "MIN_ORDER_VALUE_NOT_MET"
    ALREADY_REDEEMED = "ALREADY_REDEEMED"
    USER_LIMIT_REACHED = "USER_LIMIT_REACHED"
    EXHAUSTED = "EXHAUSTED"
    ORDER_ALREADY_USED = "ORDER_ALREADY_USED"
    RATE_LIMITED = "RATE_LIMITED"


class CouponError(Exception):
    """A business failure: reported in a payload's `errors`, never as a GraphQL error."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"CouponError({self.code}, {self.message!r}, field={self.field!r})"


def invalid(field: str, message: str) -> CouponError:
    """An INVALID_INPUT error naming the camelCase input field at fault."""
    return CouponError(ErrorCode.INVALID_INPUT, message, field)
