"""Database rows (SQLAlchemy row mappings, asyncpg records, or the row-typed columns the
lifecycle functions return) to domain records. A column the database computed at the
read (`effective_status`) is taken from the row, or given by the caller when a function
returned it beside a bare table row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql_api.domain.campaigns import Campaign, CampaignStatus, CodeGenerationJob, JobStatus
from graphql_api.domain.coupons import (
    Coupon,
    CouponStatus,
    CouponType,
    DiscountTerms,
    DiscountType,
    Usage,
)
from graphql_api.domain.reservations import Reservation, ReservationStatus

Row = Mapping[Any, Any]


def _terms(row: Row) -> DiscountTerms:
    return DiscountTerms(
        DiscountType(row["discount_type"]), row["discount_value"], row["max_discount_amount"]
    )


def _address(value: Any) -> str | None:
    return None if value is None else str(value)


def to_coupon(row: Row, status: str | None = None) -> Coupon:
    return Coupon(
        id=row["id"],
        code=row["code"],
        type=CouponType(row["type"]),
        terms=_terms(row),
        min_order_value=row["min_order_value"],
        description=row["description"],
        user_id=row["user_id"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        max_uses_per_user=row["max_uses_per_user"],
        max_total_uses=row["max_total_uses"],
        current_total_uses=row["current_total_uses"],
        status=CouponStatus(row["effective_status"] if status is None else status),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        campaign_id=row["campaign_id"],
        rolled_back_uses=row["rolled_back_uses"],
    )


def to_usage(row: Row) -> Usage:
    return Usage(
        id=row["id"],
        coupon_id=row["coupon_id"],
        user_id=row["user_id"],
        order_id=row["order_id"],
        order_value=row["order_value"],
        discount_applied=row["discount_applied"],
        final_amount=row["final_amount"],
        used_at=row["used_at"],
        ip_address=_address(row["ip_address"]),
        user_agent=row["user_agent"],
        campaign_id=row["campaign_id"],
        rolled_back_at=row["rolled_back_at"],
        rollback_reason=row["rollback_reason"],
    )


def to_reservation(row: Row, status: str | None = None) -> Reservation:
    return Reservation(
        id=row["id"],
        coupon_id=row["coupon_id"],
        campaign_id=row["campaign_id"],
        user_id=row["user_id"],
        order_id=row["order_id"],
        order_value=row["order_value"],
        discount_amount=row["discount_amount"],
        final_amount=row["final_amount"],
        status=ReservationStatus(row["effective_status"] if status is None else status),
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        ip_address=_address(row["ip_address"]),
        user_agent=row["user_agent"],
    )


def to_campaign(row: Row) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        terms=_terms(row),
        min_order_value=row["min_order_value"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        max_uses_per_code=row["max_uses_per_code"],
        max_uses_per_user=row["max_uses_per_user"],
        max_total_uses=row["max_total_uses"],
        max_total_discount=row["max_total_discount"],
        total_uses=row["total_uses"],
        total_discount=row["total_discount"],
        code_count=row["code_count"],
        status=CampaignStatus(row["effective_status"]),
        held_uses=row["held_uses"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_job(row: Row) -> CodeGenerationJob:
    return CodeGenerationJob(
        id=row["id"],
        campaign_id=row["campaign_id"],
        status=JobStatus(row["status"]),
        requested=row["requested"],
        generated=row["generated"],
        prefix=row["prefix"],
        length=row["length"],
        error=row["error"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


def present(row: Row | None) -> bool:
    """Whether a row-typed column a function returned holds a row (not an empty one)."""
    return row is not None and row["id"] is not None
