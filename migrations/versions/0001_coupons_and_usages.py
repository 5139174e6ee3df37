"""coupons and usages

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION coupon_usages_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'coupon_usages is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER coupon_usages_append_only
    BEFORE UPDATE OR DELETE ON coupon_usages
    FOR EACH ROW EXECUTE FUNCTION coupon_usages_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column(
            "type", sa.Enum("USER_SPECIFIC", "TIME_SPECIFIC", name="coupon_type"), nullable=False
        ),
        sa.Column(
            "discount_type", sa.Enum("PERCENTAGE", "FIXED", name="discount_type"), nullable=False
        ),
        sa.Column("discount_value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("max_discount_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column(
            "min_order_value",
            sa.Numeric(precision=12, scale=2),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("user_id", sa.String(length=100), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses_per_user", sa.Integer(), nullable=False),
        sa.Column("max_total_uses", sa.Integer(), nullable=True),
        sa.Column("current_total_uses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "status",
            sa.Enum("ACTIVE", "INACTIVE", "EXPIRED", "EXHAUSTED", name="coupon_status"),
            server_default=sa.text("'ACTIVE'"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "discount_type <> 'PERCENTAGE' OR discount_value <= 100",
            name=op.f("ck_coupons_percentage_at_most_100"),
        ),
        sa.CheckConstraint(
            "max_discount_amount IS NULL OR (max_discount_amount > 0 AND discount_type = 'PERCENTAGE')",
            name=op.f("ck_coupons_cap_positive_on_percentage"),
        ),
        sa.CheckConstraint(
            "type <> 'TIME_SPECIFIC' OR (user_id IS NULL AND valid_from IS NOT NULL AND valid_until IS NOT NULL)",
            name=op.f("ck_coupons_timed_coupon_shape"),
        ),
        sa.CheckConstraint(
            "type <> 'USER_SPECIFIC' OR (user_id IS NOT NULL AND max_uses_per_user = 1 AND max_total_uses = 1 AND valid_from IS NULL AND valid_until IS NULL)",
            name=op.f("ck_coupons_user_coupon_shape"),
        ),
        sa.CheckConstraint(
            "code = upper(btrim(code)) AND length(code) >= 4",
            name=op.f("ck_coupons_code_normalized"),
        ),
        sa.CheckConstraint(
            "current_total_uses >= 0 AND (max_total_uses IS NULL OR current_total_uses <= max_total_uses)",
            name=op.f("ck_coupons_uses_within_limit"),
        ),
        sa.CheckConstraint("discount_value > 0", name=op.f("ck_coupons_discount_value_positive")),
        sa.CheckConstraint(
            "max_total_uses IS NULL OR max_total_uses >= 1",
            name=op.f("ck_coupons_max_total_positive"),
        ),
        sa.CheckConstraint(
            "max_uses_per_user >= 1", name=op.f("ck_coupons_max_uses_per_user_positive")
        ),
        sa.CheckConstraint(
            "min_order_value >= 0", name=op.f("ck_coupons_min_order_value_not_negative")
        ),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_coupons_window_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    op.create_index(
        "ix_coupons_active_campaigns",
        "coupons",
        [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("type = 'TIME_SPECIFIC' AND status = 'ACTIVE'"),
    )
    op.create_index(
        "ix_coupons_active_until",
        "coupons",
        ["valid_until"],
        unique=False,
        postgresql_where=sa.text("status = 'ACTIVE' AND valid_until IS NOT NULL"),
    )
    op.create_index(
        "ix_coupons_user_newest",
        "coupons",
        ["user_id", sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )
    op.create_table(
        "coupon_usages",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("coupon_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("order_value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("discount_applied", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("final_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column(
            "used_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "discount_applied >= 0 AND discount_applied <= order_value",
            name=op.f("ck_coupon_usages_discount_in_range"),
        ),
        sa.CheckConstraint(
            "final_amount = order_value - discount_applied",
            name=op.f("ck_coupon_usages_final_amount_exact"),
        ),
        sa.CheckConstraint("order_value > 0", name=op.f("ck_coupon_usages_order_value_positive")),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["coupons.id"],
            name=op.f("fk_coupon_usages_coupon_id_coupons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_usages")),
        sa.UniqueConstraint("order_id", name=op.f("uq_coupon_usages_order_id")),
    )
    op.create_index(
        "ix_coupon_usages_coupon_newest",
        "coupon_usages",
        ["coupon_id", sa.literal_column("used_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_coupon_usages_coupon_user", "coupon_usages", ["coupon_id", "user_id"], unique=False
    )
    op.create_index(
        "ix_coupon_usages_user_newest",
        "coupon_usages",
        ["user_id", sa.literal_column("used_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    # Usages are the audit trail: the database itself refuses to edit or delete one.
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER coupon_usages_append_only ON coupon_usages")
    op.execute("DROP FUNCTION coupon_usages_append_only()")
    op.drop_index("ix_coupon_usages_user_newest", table_name="coupon_usages")
    op.drop_index("ix_coupon_usages_coupon_user", table_name="coupon_usages")
    op.drop_index("ix_coupon_usages_coupon_newest", table_name="coupon_usages")
    op.drop_table("coupon_usages")
    op.drop_index(
        "ix_coupons_user_newest",
        table_name="coupons",
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_coupons_active_until",
        table_name="coupons",
        postgresql_where=sa.text("status = 'ACTIVE' AND valid_until IS NOT NULL"),
    )
    op.drop_index(
        "ix_coupons_active_campaigns",
        table_name="coupons",
        postgresql_where=sa.text("type = 'TIME_SPECIFIC' AND status = 'ACTIVE'"),
    )
    op.drop_table("coupons")
    for enum in ("coupon_status", "discount_type", "coupon_type"):
        op.execute(f"DROP TYPE {enum}")
