"""a campaign's usages in the order they were made

`GET /exports/usages.csv?campaignId=` streams every usage of a campaign's codes oldest
first, from the first row on: an index in that order lets it walk the rows instead of
sorting them all before the first. Built in the migration's transaction, so writes to
coupon_usages wait for it; on a large table, create it CONCURRENTLY by hand first (the
same name, the same definition) and this revision finds it there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_coupon_usages_campaign_newest"
        " ON coupon_usages (campaign_id, used_at DESC, id DESC)"
        " WHERE campaign_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_coupon_usages_campaign_newest", table_name="coupon_usages")
