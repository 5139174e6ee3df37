"""Pausing and resuming coupons."""

from __future__ import annotations

from uuid import UUID

from db.engine import Database
from db.queries import coupons
from graphql_api.domain.coupons import Coupon
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.services.records import to_coupon


async def set_active(db: Database, coupon_id: UUID, *, active: bool) -> Coupon:
    """Deactivate (any status becomes INACTIVE) or activate (INACTIVE becomes ACTIVE)."""
    async with db.single_statement() as session:
        row = await coupons.set_active(session, coupon_id, active=active)
    if row is None:
        raise CouponError(ErrorCode.NOT_FOUND, f"No coupon with id {coupon_id}", "id")
    return to_coupon(row._mapping)
