"""assigned codes: a campaign's code handed to one user (assignCode)

Adds coupon_assign (db/sql/coupon_assign.sql, frozen next to this file in
0008_functions/), a unique index by which a user holds at most one code of a campaign, and
an index of each campaign's unassigned codes, oldest first. An assigned code is a CAMPAIGN
coupon whose `user_id` is set: no column is added, and a downgrade keeps the codes
assigned (0006's coupon_redeem already treats them as their users').

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from db.sql import sources

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROZEN = Path(__file__).parent / "0008_functions"
FUNCTIONS = ("coupon_assign",)
SIGNATURES = {"coupon_assign": "uuid, text"}


def upgrade() -> None:
    op.create_index(
        "uq_coupons_campaign_user",
        "coupons",
        ["campaign_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("campaign_id IS NOT NULL AND user_id IS NOT NULL"),
    )
    op.create_index(
        "ix_coupons_campaign_free",
        "coupons",
        ["campaign_id", "created_at", "id"],
        postgresql_where=sa.text("campaign_id IS NOT NULL AND user_id IS NULL"),
    )
    for statement in sources(FROZEN, FUNCTIONS):
        op.execute(statement)


def downgrade() -> None:
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {name}({SIGNATURES[name]})")
    op.drop_index("ix_coupons_campaign_free", table_name="coupons")
    op.drop_index("uq_coupons_campaign_user", table_name="coupons")
