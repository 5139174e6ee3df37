"""campaigns, holds and rollbacks: the redemption lifecycle

Adds campaigns (rules and shared budgets of many codes) and their code generation jobs,
reservations (holds), and rollbacks written beside usages. Every row that belongs to a
campaign carries `campaign_id`, the key a distributed PostgreSQL would shard by. An order
may now carry a second usage once the first is rolled back, so the order's uniqueness
covers live usages only. The database's functions are (re)created from the copies frozen
next to this file (see db/sql/__init__.py). Existing coupons, usages and counters are
kept as they are: a usage written before is a live redemption, and `rolled_back_uses`
starts at 0.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.sql import sources

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROZEN = Path(__file__).parent / "0005_functions"
# In the order they can be created, as db.sql.FUNCTIONS listed them at this revision.
FUNCTIONS = (
    "campaign_status",
    "coupon_status",
    "coupon_held_uses",
    "campaign_held_uses",
    "reservation_status",
    "coupon_usages_append_only",
    "coupon_redeem",
    "coupon_rollback",
    "coupon_release",
    "coupon_reservations_expire",
)
EARLIEST = "'0001-01-01 00:00:00.000001+00'::timestamptz"
LATEST = "'9999-12-31 23:59:59.999998+00'::timestamptz"
MONEY = sa.Numeric(precision=12, scale=2)
OLD_REDEEM = (
    "coupon_redeem(text, text, text, numeric, inet, text, text[], integer, interval, boolean)"
)
NEW_SIGNATURES = {
    "campaign_status": "campaigns",
    "coupon_status": "coupons, campaigns",
    "coupon_held_uses": "coupons",
    "campaign_held_uses": "campaigns",
    "reservation_status": "coupon_reservations",
    "coupon_redeem": "text, text, text, text, numeric, inet, text, text[], integer, interval,"
    " interval",
    "coupon_rollback": "text, text",
    "coupon_release": "text",
    "coupon_reservations_expire": "integer",
}


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    # Compared as text in the constraints below: PostgreSQL refuses a new enum value in the
    # transaction that adds it.
    op.execute("ALTER TYPE coupon_type ADD VALUE IF NOT EXISTS 'CAMPAIGN'")
    campaign_status = postgresql.ENUM(
        "ACTIVE", "INACTIVE", "EXPIRED", "EXHAUSTED", name="campaign_status"
    )
    reservation_status = postgresql.ENUM(
        "HELD", "REDEEMED", "RELEASED", "EXPIRED", name="reservation_status"
    )
    job_status = postgresql.ENUM("PENDING", "RUNNING", "SUCCEEDED", "FAILED", name="job_status")
    discount_type = postgresql.ENUM(name="discount_type", create_type=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("discount_type", discount_type, nullable=False),
        sa.Column("discount_value", MONEY, nullable=False),
        sa.Column("max_discount_amount", MONEY, nullable=True),
        sa.Column("min_order_value", MONEY, server_default=sa.text("0"), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses_per_code", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("max_uses_per_user", sa.Integer(), nullable=True),
        sa.Column("max_total_uses", sa.Integer(), nullable=True),
        sa.Column("max_total_discount", MONEY, nullable=True),
        sa.Column("total_uses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_discount", MONEY, server_default=sa.text("0"), nullable=False),
        sa.Column("code_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", campaign_status, server_default=sa.text("'ACTIVE'"), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        *_timestamps(),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(btrim(name)) >= 1", name=op.f("ck_campaigns_name_not_blank")),
        sa.CheckConstraint("discount_value > 0", name=op.f("ck_campaigns_discount_value_positive")),
        sa.CheckConstraint(
            "discount_type <> 'PERCENTAGE' OR discount_value <= 100",
            name=op.f("ck_campaigns_percentage_at_most_100"),
        ),
        sa.CheckConstraint(
            "max_discount_amount IS NULL"
            " OR (max_discount_amount > 0 AND discount_type = 'PERCENTAGE')",
            name=op.f("ck_campaigns_cap_positive_on_percentage"),
        ),
        sa.CheckConstraint(
            "min_order_value >= 0", name=op.f("ck_campaigns_min_order_value_not_negative")
        ),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_campaigns_window_ordered")),
        sa.CheckConstraint(
            f"valid_from BETWEEN {EARLIEST} AND {LATEST}",
            name=op.f("ck_campaigns_valid_from_storable"),
        ),
        sa.CheckConstraint(
            f"valid_until BETWEEN {EARLIEST} AND {LATEST}",
            name=op.f("ck_campaigns_valid_until_storable"),
        ),
        sa.CheckConstraint(
            "max_uses_per_code >= 1", name=op.f("ck_campaigns_max_uses_per_code_positive")
        ),
        sa.CheckConstraint(
            "max_uses_per_user IS NULL OR max_uses_per_user >= 1",
            name=op.f("ck_campaigns_max_uses_per_user_positive"),
        ),
        sa.CheckConstraint(
            "max_total_uses IS NULL OR max_total_uses >= 1",
            name=op.f("ck_campaigns_max_total_positive"),
        ),
        sa.CheckConstraint(
            "max_total_discount IS NULL OR max_total_discount > 0",
            name=op.f("ck_campaigns_budget_positive"),
        ),
        sa.CheckConstraint(
            "total_uses >= 0 AND (max_total_uses IS NULL OR total_uses <= max_total_uses)",
            name=op.f("ck_campaigns_uses_within_limit"),
        ),
        sa.CheckConstraint(
            "total_discount >= 0"
            " AND (max_total_discount IS NULL OR total_discount <= max_total_discount)",
            name=op.f("ck_campaigns_discount_within_budget"),
        ),
        sa.CheckConstraint("code_count >= 0", name=op.f("ck_campaigns_code_count_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(
        "ix_campaigns_newest", "campaigns", [sa.text("created_at DESC"), sa.text("id DESC")]
    )

    op.create_table(
        "code_generation_jobs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("status", job_status, server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("generated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("prefix", sa.String(length=20), server_default=sa.text("''"), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        *_timestamps(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "requested BETWEEN 1 AND 1000000",
            name=op.f("ck_code_generation_jobs_requested_in_range"),
        ),
        sa.CheckConstraint(
            "generated BETWEEN 0 AND requested",
            name=op.f("ck_code_generation_jobs_generated_in_range"),
        ),
        sa.CheckConstraint(
            "length BETWEEN 6 AND 32", name=op.f("ck_code_generation_jobs_length_in_range")
        ),
        sa.CheckConstraint(
            "length(prefix) + length <= 50", name=op.f("ck_code_generation_jobs_code_fits")
        ),
        sa.CheckConstraint(
            "status <> 'SUCCEEDED' OR generated = requested",
            name=op.f("ck_code_generation_jobs_succeeded_when_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_code_generation_jobs_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_generation_jobs")),
    )
    op.create_index(
        "ix_code_generation_jobs_campaign",
        "code_generation_jobs",
        ["campaign_id", sa.text("created_at DESC")],
    )

    op.add_column("coupons", sa.Column("campaign_id", sa.UUID(), nullable=True))
    op.add_column(
        "coupons",
        sa.Column("rolled_back_uses", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_foreign_key(
        op.f("fk_coupons_campaign_id_campaigns"),
        "coupons",
        "campaigns",
        ["campaign_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_check_constraint(
        op.f("ck_coupons_campaign_code_shape"),
        "coupons",
        "(type::text = 'CAMPAIGN') = (campaign_id IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_coupons_rolled_back_uses_not_negative"), "coupons", "rolled_back_uses >= 0"
    )
    op.create_index(
        "ix_coupons_campaign_newest",
        "coupons",
        ["campaign_id", sa.text("created_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
    )

    op.add_column("coupon_usages", sa.Column("campaign_id", sa.UUID(), nullable=True))
    op.add_column(
        "coupon_usages", sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "coupon_usages", sa.Column("rollback_reason", sa.String(length=500), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_coupon_usages_campaign_id_campaigns"),
        "coupon_usages",
        "campaigns",
        ["campaign_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.drop_constraint(op.f("uq_coupon_usages_order_id"), "coupon_usages", type_="unique")
    op.create_index(
        "uq_coupon_usages_live_order",
        "coupon_usages",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("rolled_back_at IS NULL"),
    )
    op.create_index("ix_coupon_usages_order_id", "coupon_usages", ["order_id"])
    op.create_index(
        "ix_coupon_usages_campaign_user",
        "coupon_usages",
        ["campaign_id", "user_id"],
        postgresql_where=sa.text("campaign_id IS NOT NULL"),
    )

    op.create_table(
        "coupon_reservations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("coupon_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("order_value", MONEY, nullable=False),
        sa.Column("discount_amount", MONEY, nullable=False),
        sa.Column("final_amount", MONEY, nullable=False),
        sa.Column("status", reservation_status, server_default=sa.text("'HELD'"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("usage_id", sa.UUID(), nullable=True),
        *_timestamps(),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "order_value > 0", name=op.f("ck_coupon_reservations_order_value_positive")
        ),
        sa.CheckConstraint(
            "discount_amount >= 0 AND discount_amount <= order_value",
            name=op.f("ck_coupon_reservations_discount_in_range"),
        ),
        sa.CheckConstraint(
            "final_amount = order_value - discount_amount",
            name=op.f("ck_coupon_reservations_final_amount_exact"),
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_coupon_reservations_expires_after_creation")
        ),
        sa.CheckConstraint(
            "(status = 'REDEEMED') = (usage_id IS NOT NULL)",
            name=op.f("ck_coupon_reservations_redeemed_usage"),
        ),
        sa.CheckConstraint(
            "(status = 'HELD') = (ended_at IS NULL)",
            name=op.f("ck_coupon_reservations_ended_when_not_held"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_reservations_coupon_id_coupons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_coupon_reservations_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["usage_id"],
            ["coupon_usages.id"],
            name=op.f("fk_coupon_reservations_usage_id_coupon_usages"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_reservations")),
    )
    op.create_index(
        "uq_coupon_reservations_held_order",
        "coupon_reservations",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("status = 'HELD'"),
    )
    op.create_index(
        "ix_coupon_reservations_order_newest",
        "coupon_reservations",
        ["order_id", sa.text("created_at DESC")],
    )
    op.create_index(
        "ix_coupon_reservations_held_coupon",
        "coupon_reservations",
        ["coupon_id", "user_id"],
        postgresql_where=sa.text("status = 'HELD'"),
    )
    op.create_index(
        "ix_coupon_reservations_held_campaign",
        "coupon_reservations",
        ["campaign_id", "user_id"],
        postgresql_where=sa.text("status = 'HELD' AND campaign_id IS NOT NULL"),
    )
    op.create_index(
        "ix_coupon_reservations_held_expiry",
        "coupon_reservations",
        ["expires_at"],
        postgresql_where=sa.text("status = 'HELD'"),
    )

    op.execute(f"DROP FUNCTION {OLD_REDEEM}")
    for statement in sources(FROZEN, FUNCTIONS):
        op.execute(statement)


def downgrade() -> None:
    # Campaign codes and rolled-back usages have no place in the older schema: refused
    # rather than deleted.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM campaigns)"
        " OR EXISTS (SELECT 1 FROM coupon_usages WHERE rolled_back_at IS NOT NULL) THEN"
        " RAISE EXCEPTION 'campaigns or rollbacks exist: downgrade below 0005 would lose them';"
        " END IF; END $$"
    )
    for name in reversed(FUNCTIONS):
        if name in NEW_SIGNATURES:
            op.execute(f"DROP FUNCTION {name}({NEW_SIGNATURES[name]})")
    # The trigger function as 0001 made it, and the redemption function as 0003 made it.
    op.execute(
        "CREATE OR REPLACE FUNCTION coupon_usages_append_only() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'coupon_usages is append-only: %"
        " refused', TG_OP USING ERRCODE = 'restrict_violation'; END $$"
    )
    op.execute((Path(__file__).parent / "0003_coupon_redeem.sql").read_text())
    op.drop_table("coupon_reservations")
    op.drop_index("ix_coupon_usages_campaign_user", table_name="coupon_usages")
    op.drop_index("ix_coupon_usages_order_id", table_name="coupon_usages")
    op.drop_index("uq_coupon_usages_live_order", table_name="coupon_usages")
    op.create_unique_constraint(op.f("uq_coupon_usages_order_id"), "coupon_usages", ["order_id"])
    op.drop_constraint(
        op.f("fk_coupon_usages_campaign_id_campaigns"), "coupon_usages", type_="foreignkey"
    )
    for column in ("rollback_reason", "rolled_back_at", "campaign_id"):
        op.drop_column("coupon_usages", column)
    op.drop_index("ix_coupons_campaign_newest", table_name="coupons")
    op.drop_constraint(op.f("fk_coupons_campaign_id_campaigns"), "coupons", type_="foreignkey")
    for column in ("rolled_back_uses", "campaign_id"):
        op.drop_column("coupons", column)
    op.drop_table("code_generation_jobs")
    op.drop_table("campaigns")
    for enum in ("job_status", "reservation_status", "campaign_status"):
        op.execute(f"DROP TYPE {enum}")
    # PostgreSQL cannot drop one value from an enum: CAMPAIGN stays in coupon_type, unused.
