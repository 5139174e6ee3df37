"""The tables. Every rule that can be a constraint is one: the database has the last word."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The moments the driver stores and reads back unchanged (graphql_api.domain.inputs).
_EARLIEST = "'0001-01-01 00:00:00.000001+00'::timestamptz"
_LATEST = "'9999-12-31 23:59:59.999998+00'::timestamptz"

# Amounts up to 9,999,999,999.99: twelve digits, two after the point.
Money = Numeric(12, 2, asdecimal=True)

coupon_type = Enum("USER_SPECIFIC", "TIME_SPECIFIC", "CAMPAIGN", name="coupon_type")
discount_type = Enum("PERCENTAGE", "FIXED", name="discount_type")
coupon_status = Enum("ACTIVE", "INACTIVE", "EXPIRED", "EXHAUSTED", name="coupon_status")
campaign_status = Enum("ACTIVE", "INACTIVE", "EXPIRED", "EXHAUSTED", name="campaign_status")
reservation_status = Enum("HELD", "REDEEMED", "RELEASED", "EXPIRED", name="reservation_status")
job_status = Enum("PENDING", "RUNNING", "SUCCEEDED", "FAILED", name="job_status")
delivery_state = Enum("PENDING", "DELIVERED", "FAILED", name="webhook_delivery_state")


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


def _terms_and_window() -> list[CheckConstraint]:
    """The rules a coupon and a campaign share: what the discount may be, and a validity
    window of moments that read back unchanged (migration 0004: not the driver's infinity
    sentinels, nothing past year 9999). Named per table by the naming convention."""
    return [
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
        CheckConstraint(
            f"valid_from BETWEEN {_EARLIEST} AND {_LATEST}", name="valid_from_storable"
        ),
        CheckConstraint(
            f"valid_until BETWEEN {_EARLIEST} AND {_LATEST}", name="valid_until_storable"
        ),
    ]


class Campaign(Base):
    """The rules and the shared budgets of many codes. Its counters move in the same
    transaction as the usage that moves them (`coupon_redeem`, `coupon_rollback`)."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    discount_type: Mapped[str] = mapped_column(discount_type)
    discount_value: Mapped[Decimal] = mapped_column(Money)
    max_discount_amount: Mapped[Decimal | None] = mapped_column(Money)
    min_order_value: Mapped[Decimal] = mapped_column(Money, server_default=text("0"))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_uses_per_code: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    max_uses_per_user: Mapped[int | None] = mapped_column(Integer)
    max_total_uses: Mapped[int | None] = mapped_column(Integer)
    max_total_discount: Mapped[Decimal | None] = mapped_column(Money)
    total_uses: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    total_discount: Mapped[Decimal] = mapped_column(Money, server_default=text("0"))
    code_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    status: Mapped[str] = mapped_column(campaign_status, server_default=text("'ACTIVE'"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("length(btrim(name)) >= 1", name="name_not_blank"),
        *_terms_and_window(),
        CheckConstraint("max_uses_per_code >= 1", name="max_uses_per_code_positive"),
        CheckConstraint(
            "max_uses_per_user IS NULL OR max_uses_per_user >= 1", name="max_uses_per_user_positive"
        ),
        CheckConstraint("max_total_uses IS NULL OR max_total_uses >= 1", name="max_total_positive"),
        CheckConstraint(
            "max_total_discount IS NULL OR max_total_discount > 0", name="budget_positive"
        ),
        # The last word on the budgets: no statement can take a counter past its limit.
        CheckConstraint(
            "total_uses >= 0 AND (max_total_uses IS NULL OR total_uses <= max_total_uses)",
            name="uses_within_limit",
        ),
        CheckConstraint(
            "total_discount >= 0"
            " AND (max_total_discount IS NULL OR total_discount <= max_total_discount)",
            name="discount_within_budget",
        ),
        CheckConstraint("code_count >= 0", name="code_count_not_negative"),
        # Campaigns newest first (campaigns).
        Index("ix_campaigns_newest", text("created_at DESC"), text("id DESC")),
    )


class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    code: Mapped[str] = mapped_column(String(50), unique=True)
    type: Mapped[str] = mapped_column(coupon_type)
    # CAMPAIGN codes only: the campaign whose rules and budgets it shares (the shard key).
    # No foreign key (migration 0009): its check, a KEY SHARE lock on the campaign's row for
    # every code inserted, held a million-code job to ~50,000 codes/s and made redemptions
    # of the campaign wait for each batch. Codes are only ever written by an INSERT that
    # joins their campaign's row, and campaigns are never deleted (a trigger refuses it:
    # db/sql/campaigns_never_deleted.sql), so the id always names one.
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
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
    # Usages given back by rollbackRedemption: current + rolled back = the usage rows.
    rolled_back_uses: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    status: Mapped[str] = mapped_column(coupon_status, server_default=text("'ACTIVE'"))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("code = upper(btrim(code)) AND length(code) >= 4", name="code_normalized"),
        *_terms_and_window(),
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
        # Compared as text: a new enum value cannot be used in the migration that adds it.
        CheckConstraint(
            "(type::text = 'CAMPAIGN') = (campaign_id IS NOT NULL)", name="campaign_code_shape"
        ),
        CheckConstraint("rolled_back_uses >= 0", name="rolled_back_uses_not_negative"),
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
        # A campaign's codes newest first (Campaign.codes).
        Index(
            "ix_coupons_campaign_newest",
            "campaign_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("campaign_id IS NOT NULL"),
        ),
        # A user holds at most one code of a campaign (assignCode; its lock is the first word).
        Index(
            "uq_coupons_campaign_user",
            "campaign_id",
            "user_id",
            unique=True,
            postgresql_where=text("campaign_id IS NOT NULL AND user_id IS NOT NULL"),
        ),
        # A campaign's unassigned codes, oldest first (assignCode), past the ones handed
        # out. Not narrowed to unused codes: a column in an index's predicate is an indexed
        # column, and a redemption's counter update would no longer be a HOT update.
        Index(
            "ix_coupons_campaign_free",
            "campaign_id",
            "created_at",
            "id",
            postgresql_where=text("campaign_id IS NOT NULL AND user_id IS NULL"),
        ),
        Index(
            "ix_coupons_active_until",
            "valid_until",
            postgresql_where=text("status = 'ACTIVE' AND valid_until IS NOT NULL"),
        ),
    )


class Usage(Base):
    """Append-only: no operation deletes a usage or changes what it recorded. A rollback is
    written beside it, once (`rolled_back_at`, `rollback_reason`), by a trigger-guarded
    update that may touch nothing else (migration 0005)."""

    __tablename__ = "coupon_usages"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id", ondelete="RESTRICT"))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT")
    )
    user_id: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[str] = mapped_column(String(100))
    order_value: Mapped[Decimal] = mapped_column(Money)
    discount_applied: Mapped[Decimal] = mapped_column(Money)
    final_amount: Mapped[Decimal] = mapped_column(Money)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ip_address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(500))
    rolled_back_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rollback_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        # One live redemption per order; a rolled-back one frees the order.
        Index(
            "uq_coupon_usages_live_order",
            "order_id",
            unique=True,
            postgresql_where=text("rolled_back_at IS NULL"),
        ),
        Index("ix_coupon_usages_order_id", "order_id"),
        # A user's uses across a campaign's codes (maxUsesPerUser of a campaign).
        Index(
            "ix_coupon_usages_campaign_user",
            "campaign_id",
            "user_id",
            postgresql_where=text("campaign_id IS NOT NULL"),
        ),
        # A campaign's usages in the order they were made (exports of usages.csv).
        Index(
            "ix_coupon_usages_campaign_newest",
            "campaign_id",
            text("used_at DESC"),
            text("id DESC"),
            postgresql_where=text("campaign_id IS NOT NULL"),
        ),
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


class Reservation(Base):
    """A hold: one use of a coupon (and of its campaign's budgets) kept for an order until
    it is redeemed, released, or `expires_at` passes. A HELD row whose `expires_at` has
    passed counts as EXPIRED everywhere at once; the sweep only writes that down."""

    __tablename__ = "coupon_reservations"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id", ondelete="RESTRICT"))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT")
    )
    user_id: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[str] = mapped_column(String(100))
    order_value: Mapped[Decimal] = mapped_column(Money)
    discount_amount: Mapped[Decimal] = mapped_column(Money)
    final_amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(reservation_status, server_default=text("'HELD'"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ip_address: Mapped[str | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(500))
    usage_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("coupon_usages.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("order_value > 0", name="order_value_positive"),
        CheckConstraint(
            "discount_amount >= 0 AND discount_amount <= order_value", name="discount_in_range"
        ),
        CheckConstraint("final_amount = order_value - discount_amount", name="final_amount_exact"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        CheckConstraint("(status = 'REDEEMED') = (usage_id IS NOT NULL)", name="redeemed_usage"),
        CheckConstraint("(status = 'HELD') = (ended_at IS NULL)", name="ended_when_not_held"),
        # One HELD row per order (an expired one is written EXPIRED before a new hold).
        Index(
            "uq_coupon_reservations_held_order",
            "order_id",
            unique=True,
            postgresql_where=text("status = 'HELD'"),
        ),
        # An order's reservations, newest first (reservation(orderId), releaseReservation).
        Index("ix_coupon_reservations_order_newest", "order_id", text("created_at DESC")),
        # Live holds of a coupon, of a campaign, and the sweep's work list.
        Index(
            "ix_coupon_reservations_held_coupon",
            "coupon_id",
            "user_id",
            postgresql_where=text("status = 'HELD'"),
        ),
        Index(
            "ix_coupon_reservations_held_campaign",
            "campaign_id",
            "user_id",
            postgresql_where=text("status = 'HELD' AND campaign_id IS NOT NULL"),
        ),
        Index(
            "ix_coupon_reservations_held_expiry",
            "expires_at",
            postgresql_where=text("status = 'HELD'"),
        ),
    )


class CodeGenerationJob(Base):
    """A request for `requested` new codes of a campaign, worked off in the background.
    `generated` moves in the same transaction as the codes it counts, so a job taken up
    again after a crash knows exactly how many are left."""

    __tablename__ = "code_generation_jobs"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(job_status, server_default=text("'PENDING'"))
    requested: Mapped[int] = mapped_column(Integer)
    generated: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    prefix: Mapped[str] = mapped_column(String(20), server_default=text("''"))
    length: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("requested BETWEEN 1 AND 1000000", name="requested_in_range"),
        CheckConstraint("generated BETWEEN 0 AND requested", name="generated_in_range"),
        CheckConstraint("length BETWEEN 6 AND 32", name="length_in_range"),
        CheckConstraint("length(prefix) + length <= 50", name="code_fits"),
        CheckConstraint(
            "status <> 'SUCCEEDED' OR generated = requested", name="succeeded_when_complete"
        ),
        Index("ix_code_generation_jobs_campaign", "campaign_id", text("created_at DESC")),
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


class Event(Base):
    """The outbox: one row per change that other systems are told about (contract, "Events"),
    written in the change's own transaction (db/sql/event_append.sql).

    `sequence` is taken while the change's locks are held, so one coupon's events are in
    the order of its changes; `position` is given once they have committed, in `sequence`
    order, by one numbering at a time (services/events.py): the feed's order, in which no
    event ever appears before one that precedes it. Rows carry the campaign id (sharding).
    """

    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.uuid_v7()
    )
    sequence: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    position: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(50))
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    coupon_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    data: Mapped[dict[str, object]] = mapped_column(JSONB)

    __table_args__ = (
        CheckConstraint(
            "coupon_id IS NOT NULL OR campaign_id IS NOT NULL", name="about_coupon_or_campaign"
        ),
        Index(
            "uq_events_position",
            "position",
            unique=True,
            postgresql_where=text("position IS NOT NULL"),
        ),
        # What the numbering has still to number: small, as it is emptied as it goes.
        Index("ix_events_unnumbered", "sequence", postgresql_where=text("position IS NULL")),
        Index(
            "ix_events_type_position",
            "type",
            "position",
            postgresql_where=text("position IS NOT NULL"),
        ),
    )


class WebhookEndpoint(Base):
    """A receiver of signed webhooks (Standard Webhooks) for some event types. Deleting one
    deletes its deliveries; `secret` signs them and is shown once, when it is created."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()
    )
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("cardinality(events) > 0", name="some_events"),
        Index("ix_webhook_endpoints_created", text("created_at DESC"), text("id DESC")),
    )


class WebhookDelivery(Base):
    """One event to one endpoint, until a 2xx (DELIVERED) or the retries run out (FAILED).
    `stream_key` is the event's coupon (or campaign): an endpoint gets one stream's events
    one after the other, each only once the one before it is done."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.uuid_v7()
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    event_position: Mapped[int] = mapped_column(BigInteger)
    stream_key: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    state: Mapped[str] = mapped_column(delivery_state, server_default=text("'PENDING'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index(
            "ix_webhook_deliveries_pending_stream",
            "endpoint_id",
            "stream_key",
            "event_position",
            postgresql_where=text("state = 'PENDING'"),
        ),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "event_position"),
        Index("ix_webhook_deliveries_event", "event_id"),
    )


class WebhookStream(Base):
    """An endpoint's pending deliveries of one coupon (or campaign), scheduled as one: only
    its oldest is sent, when `next_attempt_at` has come, by the one worker whose lease
    (`leased_until`) runs. A row exists while the stream has pending deliveries."""

    __tablename__ = "webhook_streams"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    stream_key: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    leased_until: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("'-infinity'")
    )
    # Who holds the lease: a worker writes down its batch only while it is still its own.
    lease: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        PrimaryKeyConstraint("endpoint_id", "stream_key"),
        Index("ix_webhook_streams_due", "endpoint_id", "next_attempt_at"),
    )


class WebhookAttempt(Base):
    """One try at a delivery: when, how long, and what came back (a status, a short excerpt
    of the body, or why nothing did). Never the whole body."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=func.uuid_v7()
    )
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempted_at"),)
