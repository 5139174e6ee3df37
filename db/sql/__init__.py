"""The database's functions, one source file each: the rules that run inside PostgreSQL.

`FUNCTIONS` lists them in the order they can be created (a function that calls another
comes after it). Each file is one `CREATE OR REPLACE FUNCTION`. A migration that changes a
function freezes a copy of the files it loads next to itself (as 0005 does in
`migrations/versions/0005_functions/`), so that replaying old migrations never runs newer
code; `tests/integration/test_database_functions.py` fails when the functions in a
migrated database differ from these sources, or when the database holds one that is not here.
"""

from __future__ import annotations

from pathlib import Path

SOURCES = Path(__file__).parent

FUNCTIONS = (
    "uuid_v7",
    "campaign_status",
    "coupon_status",
    "coupon_held_uses",
    "campaign_held_uses",
    "reservation_status",
    "coupon_usages_append_only",
    "campaigns_never_deleted",
    "event_time",
    "event_coupon",
    "event_campaign",
    "event_usage",
    "event_reservation",
    "event_append",
    "event_reservation_ended",
    "coupon_redeem",
    "coupon_rollback",
    "coupon_release",
    "coupon_reservations_expire",
    "coupon_assign",
)


def sources(directory: Path = SOURCES, names: tuple[str, ...] = FUNCTIONS) -> list[str]:
    """The `CREATE OR REPLACE FUNCTION` statements of `names`, read from `directory`."""
    return [(directory / f"{name}.sql").read_text() for name in names]
