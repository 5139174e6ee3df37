"""coupon_redeem(): the redemption checks and write as one database round trip

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy frozen with this revision: later changes to the function get revisions of their own.
FUNCTION = (Path(__file__).parent / "0003_coupon_redeem.sql").read_text()


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION coupon_redeem(text, text, text, numeric, inet, text, text[], integer,"
        " interval, boolean)"
    )
