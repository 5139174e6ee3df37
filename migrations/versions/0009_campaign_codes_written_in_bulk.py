"""campaign codes written in bulk: no per-row foreign key check, time-ordered ids

The foreign key from coupons.campaign_id to campaigns checked every inserted code with a
KEY SHARE lock on the campaign's row: the dearest part of bulk generation (two batches at
once measured ~50,000 codes/s with it, 70,000-90,000 without), and a lock that made the
campaign's redemptions (FOR UPDATE on that row) wait for each batch to commit. Codes are
only written by an INSERT that joins their campaign's row; a statement trigger now refuses
every DELETE on campaigns (db/sql/campaigns_never_deleted.sql, frozen next to this file
in 0009_functions/), so a code's campaign_id always names one. And uuid_v7() (same
folder) gives bulk-written codes time-ordered ids, which land at the right edge of the
primary key's index instead of on random pages of it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from db.sql import sources

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROZEN = Path(__file__).parent / "0009_functions"
FUNCTIONS = ("uuid_v7", "campaigns_never_deleted")


def upgrade() -> None:
    op.drop_constraint("fk_coupons_campaign_id_campaigns", "coupons", type_="foreignkey")
    for statement in sources(FROZEN, FUNCTIONS):
        op.execute(statement)
    op.execute(
        "CREATE TRIGGER campaigns_never_deleted BEFORE DELETE ON campaigns"
        " FOR EACH STATEMENT EXECUTE FUNCTION campaigns_never_deleted()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER campaigns_never_deleted ON campaigns")
    op.execute("DROP FUNCTION campaigns_never_deleted()")
    op.execute("DROP FUNCTION uuid_v7(bigint)")
    op.create_foreign_key(
        "fk_coupons_campaign_id_campaigns",
        "coupons",
        "campaigns",
        ["campaign_id"],
        ["id"],
        ondelete="RESTRICT",
    )
