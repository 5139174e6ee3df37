"""Creating coupons: user-specific ones with generated codes, timed campaigns. Each is
written with its `coupon.created` event, in one transaction."""

from __future__ import annotations

from typing import Any

from db.engine import Database
from db.queries import coupons, events
from graphql_api.domain.codes import CAMPAIGN_PREFIX, USER_PREFIX, generate_code
from graphql_api.domain.coupons import Coupon, DiscountTerms
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.inputs import NewTimedCoupon, NewUserCoupon
from graphql_api.services.records import to_coupon

# A collision among 31**12 codes is rare; several in a row means something else is wrong.
CODE_ATTEMPTS = 8


class CodeSpaceExhaustedError(RuntimeError):
    """Generated codes kept colliding: not the client's fault, so not a CouponError."""


def _terms(terms: DiscountTerms) -> dict[str, Any]:
    return {
        "discount_type": terms.discount_type.value,
        "discount_value": terms.discount_value,
        "max_discount_amount": terms.max_discount_amount,
    }


async def create_user_coupon(db: Database, new: NewUserCoupon) -> Coupon:
    values = {
        "type": "USER_SPECIFIC",
        **_terms(new.terms),
        "min_order_value": new.min_order_value,
        "description": new.description,
        "user_id": new.user_id,
        "max_uses_per_user": 1,
        "max_total_uses": 1,
        "created_by": new.created_by,
    }
    return await _insert_with_generated_code(db, values, USER_PREFIX)


async def create_timed_coupon(db: Database, new: NewTimedCoupon) -> Coupon:
    values = {
        "type": "TIME_SPECIFIC",
        **_terms(new.terms),
        "min_order_value": new.min_order_value,
        "description": new.description,
        "valid_from": new.valid_from,
        "valid_until": new.valid_until,
        "max_uses_per_user": new.max_uses_per_user,
        "max_total_uses": new.max_total_uses,
        "created_by": new.created_by,
    }
    if new.code is None:
        return await _insert_with_generated_code(db, values, CAMPAIGN_PREFIX)
    async with db.transaction() as session:
        row = await coupons.insert_coupon(session, {**values, "code": new.code})
        if row is not None:
            await events.append_coupon_created(session, row.id)
    if row is None:
        raise CouponError(
            ErrorCode.CODE_ALREADY_EXISTS, f"A coupon with code {new.code} already exists", "code"
        )
    return to_coupon(row._mapping)


async def _insert_with_generated_code(db: Database, values: dict[str, Any], prefix: str) -> Coupon:
    for _ in range(CODE_ATTEMPTS):
        async with db.transaction() as session:
            row = await coupons.insert_coupon(session, {**values, "code": generate_code(prefix)})
            if row is not None:
                await events.append_coupon_created(session, row.id)
        if row is not None:
            return to_coupon(row._mapping)
    raise CodeSpaceExhaustedError(f"{CODE_ATTEMPTS} generated codes in a row were taken")
