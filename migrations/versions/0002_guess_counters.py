"""guess counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guess_counters",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("window_started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_guess_counters_failures_not_negative")),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_guess_counters")),
    )
    op.create_index(
        "ix_guess_counters_window_started", "guess_counters", ["window_started"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_guess_counters_window_started", table_name="guess_counters")
    op.drop_table("guess_counters")
