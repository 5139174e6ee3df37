"""validity windows hold only moments that read back unchanged

A window end of 9999-12-31T23:59:59.999999Z was written as `infinity` by the driver and read
back as a naive datetime, which broke every read of the coupon and every list holding it;
a moment past year 9999 cannot be read at all. Rows already written so are brought inside
the range (an open end stays as open as it can be), then CHECK constraints keep them there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EARLIEST = "'0001-01-01 00:00:00.000001+00'::timestamptz"
LATEST = "'9999-12-31 23:59:59.999998+00'::timestamptz"
# Literal SQL: EARLIEST and LATEST spelled out, one microsecond inside them for the window's
# other end, so that valid_until > valid_from still holds afterwards.
BRING_INSIDE = """
UPDATE coupons SET
    valid_from = CASE
        WHEN valid_from < '0001-01-01 00:00:00.000001+00' THEN '0001-01-01 00:00:00.000001+00'
        WHEN valid_from > '9999-12-31 23:59:59.999997+00' THEN '9999-12-31 23:59:59.999997+00'
        ELSE valid_from END,
    valid_until = CASE
        WHEN valid_until < '0001-01-01 00:00:00.000002+00' THEN '0001-01-01 00:00:00.000002+00'
        WHEN valid_until > '9999-12-31 23:59:59.999998+00' THEN '9999-12-31 23:59:59.999998+00'
        ELSE valid_until END,
    updated_at = now()
WHERE valid_from NOT BETWEEN '0001-01-01 00:00:00.000001+00' AND '9999-12-31 23:59:59.999997+00'
   OR valid_until NOT BETWEEN '0001-01-01 00:00:00.000002+00' AND '9999-12-31 23:59:59.999998+00'
"""


def upgrade() -> None:
    op.execute(BRING_INSIDE)
    for column in ("valid_from", "valid_until"):
        op.create_check_constraint(
            op.f(f"ck_coupons_{column}_storable"),
            "coupons",
            f"{column} BETWEEN {EARLIEST} AND {LATEST}",
        )


def downgrade() -> None:
    for column in ("valid_from", "valid_until"):
        op.drop_constraint(op.f(f"ck_coupons_{column}_storable"), "coupons", type_="check")
