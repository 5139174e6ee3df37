"""Mutation and validation results: an object and no errors, or errors and no object."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from graphql_api.domain.coupons import Coupon
from graphql_api.domain.errors import CouponError
from graphql_api.schema.errors import CouponErrorType
from graphql_api.schema.types import CouponNode, UsageNode
from graphql_api.services.redemption import Redemption, Validation

ERRORS = "Empty on success; otherwise why the operation was refused."


@strawberry.type(description="The coupon created or changed, or why not.")
class CouponPayload:
    coupon: CouponNode | None = strawberry.field(description="Null when `errors` is not empty.")
    errors: list[CouponErrorType] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, coupon: Coupon) -> CouponPayload:
        return cls(coupon=CouponNode.from_domain(coupon), errors=[])

    @classmethod
    def failed(cls, error: CouponError) -> CouponPayload:
        return cls(coupon=None, errors=[CouponErrorType.from_error(error)])


@strawberry.type(description="The recorded redemption, or why the coupon could not be redeemed.")
class RedeemCouponPayload:
    usage: UsageNode | None = strawberry.field(
        description="The usage recorded for the order (the same one again on a retry)."
    )
    discount_amount: Decimal | None = strawberry.field(description="The money taken off.")
    final_amount: Decimal | None = strawberry.field(description="What the customer pays.")
    errors: list[CouponErrorType] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, redemption: Redemption) -> RedeemCouponPayload:
        usage = redemption.usage
        return cls(
            usage=UsageNode.from_domain(usage),
            discount_amount=usage.discount_applied,
            final_amount=usage.final_amount,
            errors=[],
        )

    @classmethod
    def failed(cls, error: CouponError) -> RedeemCouponPayload:
        return cls(
            usage=None,
            discount_amount=None,
            final_amount=None,
            errors=[CouponErrorType.from_error(error)],
        )


@strawberry.type(description="Whether a redemption would succeed now, and what it would take off.")
class CouponValidation:
    valid: bool = strawberry.field(description="True when redeemCoupon would succeed now.")
    coupon: CouponNode | None = strawberry.field(
        description="The coupon, when the code exists for this user (also when it is not valid)."
    )
    discount_amount: Decimal | None = strawberry.field(description="Set when valid.")
    final_amount: Decimal | None = strawberry.field(description="Set when valid.")
    errors: list[CouponErrorType] = strawberry.field(description=ERRORS)

    @classmethod
    def refused(cls, error: CouponError, coupon: CouponNode | None) -> CouponValidation:
        return cls(
            valid=False,
            coupon=coupon,
            discount_amount=None,
            final_amount=None,
            errors=[CouponErrorType.from_error(error)],
        )

    @classmethod
    def of(cls, validation: Validation) -> CouponValidation:
        coupon = CouponNode.from_domain(validation.coupon)
        if isinstance(validation.outcome, CouponError):
            return cls.refused(validation.outcome, coupon)
        return cls(
            valid=True,
            coupon=coupon,
            discount_amount=validation.outcome.discount,
            final_amount=validation.outcome.final_amount,
            errors=[],
        )
