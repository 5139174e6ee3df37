"""The tables. Every rule that can be a constraint is one: the database has the last word."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import INET, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The moments the driver stores and reads back unchanged (graphql_api.domain.inputs).
_EARLIEST = "'0001-01-01 00:00:00.000001+00'::timestamptz"
_LATEST = "'9999-12-31 23:59:59.999998+00'::timestamptz"

# Amounts up to 9,999,999,999.99: twelve digits, two after the point.
Money = Numeric(12, 2, asdecimal=True)

coupon_type = Enum("USER_SPECIFIC", "TIME_SPECIFIC", name="coupon_type")
discount_type = Enum("PERCENTAGE", "FIXED", name="discount_type")
coupon_status = Enum("ACTIVE", "INACTIVE", "EXPIRED", "EXHAUSTED", name="coupon_status")


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    code: Mapped[str] = mapped_column(String(50), unique=True)
    type: Mapped[str] = mapped_column(coupon_type)
    discount_type: Mapped[str] = mapped_column(discount_type)
    discount_value: Mapped[Decimal] = mapped_column(Money)
    max_discount_amount: Mapped[Decimal | None] = mapped_column(Money)
    min_order_value: Mapped[Decimal] = mapped_column(Money, server_default=text("0"))
    description: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[str | None] = mapped_column(String(100))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_uses_per_user: Mapped[int] = mapped_column(Integer)
    max_total_uses: Mapped[int | None] = mapped_column(Integer)
    current_total_uses: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    status: Mapped[str] = mapped_column(coupon_status, server_default=text("'ACTIVE'"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("code = upper(btrim(code)) AND length(code) >= 4", name="code_normalized"),
        CheckConstraint("discount_value > 0", name="discount_value_positive"),
        CheckConstraint(
            "discount_type <> 'PERCENTAGE' OR discount_value <= 100", name="percentage_at_most_100"
        ),
        CheckConstraint(
            "max_discount_amount IS NULL"
            " OR (max_discount_amount > 0 AND discount_type = 'PERCENTAGE')",
            name="cap_positive_on_percentage",
        ),
        CheckConstraint("min_order_value >= 0", name="min_order_value_not_negative"),
        CheckConstraint("valid_until > valid_from", name="window_ordered"),
        # Only moments that read back unchanged (migration 0004): not the driver's
        # infinity sentinels, nothing past year 9999.
        CheckConstraint(
            f"valid_from BETWEEN {_EARLIEST} AND {_LATEST}", name="valid_from_storable"
        ),
        CheckConstraint(
            f"valid_until BETWEEN {_EARLIEST} AND {_LATEST}", name="valid_until_storable"
        ),
        CheckConstraint(
            "type <> 'USER_SPECIFIC' OR (user_id IS NOT NULL AND max_uses_per_user = 1"
            " AND max_total_uses = 1 AND valid_from IS NULL AND valid_until IS NULL)",
            name="user_coupon_shape",
        ),
        CheckConstraint(
            "type <> 'TIME_SPECIFIC' OR (user_id IS NULL"
            " AND valid_from IS NOT NULL AND valid_until IS NOT NULL)",
            name="timed_coupon_shape",
        ),
        CheckConstraint("max_uses_per_user >= 1", name="max_uses_per_user_positive"),
        CheckConstraint("max_total_uses IS NULL OR max_total_uses >= 1", name="max_total_positive"),
        CheckConstraint(
            "current_total_uses >= 0"
            " AND (max_total_uses IS NULL OR current_total_uses <= max_total_uses)",
            name="uses_within_limit",
        ),
        # A user's coupons, newest first (userCoupons).
        Index(
            "ix_coupons_user_newest",
            "user_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        # Running campaigns, newest first (activeCampaigns; the EXPIRED sweep).
        Index(
            "ix_coupons_active_campaigns",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("type = 'TIME_SPECIFIC' AND status = 'ACTIVE'"),
        ),
        Index(
            "ix_coupons_active_until",
            "valid_until",
            postgresql_where=text("status = 'ACTIVE' AND valid_until IS NOT NULL"),
        ),
    )


class Usage(Base):
    """Append-only: no operation updates or deletes a usage."""

    __tablename__ = "coupon_usages"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id", ondelete="RESTRICT"))
    user_id: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[str] = mapped_column(String(100), unique=True)
    order_value: Mapped[Decimal] = mapped_column(Money)
    discount_applied: Mapped[Decimal] = mapped_column(Money)
    final_amount: Mapped[Decimal] = mapped_column(Money)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ip_address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("order_value > 0", name="order_value_positive"),
        CheckConstraint(
            "discount_applied >= 0 AND discount_applied <= order_value", name="discount_in_range"
        ),
        CheckConstraint("final_amount = order_value - discount_applied", name="final_amount_exact"),
        # A coupon's usages newest first (Coupon.usages), and a user's count of them.
        Index("ix_coupon_usages_coupon_newest", "coupon_id", text("used_at DESC"), text("id DESC")),
        Index("ix_coupon_usages_coupon_user", "coupon_id", "user_id"),
        # A user's usages newest first (userUsages).
        Index("ix_coupon_usages_user_newest", "user_id", text("used_at DESC"), text("id DESC")),
    )


class GuessCounter(Base):
    """Failed code lookups per subject ("user:<id>", "ip:<address>"), in a fixed window.

    Kept in PostgreSQL so that every worker and replica shares the count.
    """

    __tablename__ = "guess_counters"

    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_started: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("failures >= 0", name="failures_not_negative"),
        Index("ix_guess_counters_window_started", "window_started"),
    )
