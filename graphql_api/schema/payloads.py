"""Mutation and validation results: an object and no errors, or errors and no object.

Each payload's `failed(error)` is what the one adapter (schema/refusals.py) answers when
the operation is refused.
"""

from __future__ import annotations

from decimal import Decimal

import strawberry

from graphql_api.domain.campaigns import Campaign, CodeGenerationJob
from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.errors import CouponError
from graphql_api.domain.reservations import Reservation
from graphql_api.schema.campaign_types import CampaignNode, CodeGenerationJobNode
from graphql_api.schema.errors import CouponErrorType
from graphql_api.schema.reservation_types import ReservationNode
from graphql_api.schema.types import CouponNode, UsageNode
from graphql_api.services.redemption import Validation

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
    def of(cls, usage: Usage) -> RedeemCouponPayload:
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
    def failed(cls, error: CouponError) -> CouponValidation:
        return cls.refused(error, None)

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


@strawberry.type(description="The campaign created or changed, or why not.")
class CampaignPayload:
    campaign: CampaignNode | None = strawberry.field(description="Null when `errors` is not empty.")
    errors: list[CouponErrorType] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignPayload:
        return cls(campaign=CampaignNode.from_domain(campaign), errors=[])

    @classmethod
    def failed(cls, error: CouponError) -> CampaignPayload:
        return cls(campaign=None, errors=[CouponErrorType.from_error(error)])


@strawberry.type(description="The code generation job that was started, or why not.")
class CodeGenerationPayload:
    job: CodeGenerationJobNode | None = strawberry.field(
        description="Null when `errors` is not empty. Follow it with codeGenerationJob(id)."
    )
    errors: list[CouponErrorType] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, job: CodeGenerationJob) -> CodeGenerationPayload:
        return cls(job=CodeGenerationJobNode.from_domain(job), errors=[])

    @classmethod
    def failed(cls, error: CouponError) -> CodeGenerationPayload:
        return cls(job=None, errors=[CouponErrorType.from_error(error)])


@strawberry.type(description="The order's reservation, or why there is none.")
class ReservationPayload:
    reservation: ReservationNode | None = strawberry.field(
        description="Null when `errors` is not empty."
    )
    discount_amount: Decimal | None = strawberry.field(
        description="The money a redemption of the order will take off."
    )
    final_amount: Decimal | None = strawberry.field(description="What the customer will pay.")
    errors: list[CouponErrorType] = strawberry.field(description=ERRORS)

    @classmethod
    def of(cls, reservation: Reservation) -> ReservationPayload:
        return cls(
            reservation=ReservationNode.from_domain(reservation),
            discount_amount=reservation.discount_amount,
            final_amount=reservation.final_amount,
            errors=[],
        )

    @classmethod
    def failed(cls, error: CouponError) -> ReservationPayload:
        return cls(
            reservation=None,
            discount_amount=None,
            final_amount=None,
            errors=[CouponErrorType.from_error(error)],
        )
