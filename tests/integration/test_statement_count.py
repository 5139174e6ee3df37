"""A nested query costs the same number of SQL statements whatever its page sizes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

NESTED = """
query Nested($first: Int!) {
  activeCampaigns(first: $first) {
    totalCount
    edges {
      node {
        code
        usages(first: 10) {
          totalCount
          edges { node { orderId discountApplied coupon { code status } } }
        }
      }
    }
  }
}
"""

SIBLING_LOADERS = """
query Siblings($first: Int!) {
  campaigns: activeCampaigns(first: $first) {
    edges { node { code usages(first: 3) { totalCount edges { node { orderId } } } } }
  }
  mine: userUsages(userId: "user-0", first: 100) {
    edges { node { orderId coupon { code usages(first: 2) { totalCount } } } }
  }
}
"""


def seed_campaigns(db, coupons: int, usages_each: int) -> None:
    """Campaign coupons with usages, written directly: the shape matters here, not the path."""
    db.execute(
        """
        INSERT INTO coupons (code, type, discount_type, discount_value, valid_from, valid_until,
                             max_uses_per_user, current_total_uses, created_at)
        SELECT 'CAMPAIGN-' || n, 'TIME_SPECIFIC', 'FIXED', 5, now() - interval '1 day',
               now() + interval '1 day', 100, $2, now() - n * interval '1 second'
        FROM generate_series(1, $1) AS n
        """,
        coupons,
        usages_each,
    )
    db.execute(
        """
        INSERT INTO coupon_usages (coupon_id, user_id, order_id, order_value, discount_applied,
                                   final_amount)
        SELECT c.id, 'user-' || k, c.code || '-order-' || k, 20, 5, 15
        FROM coupons c CROSS JOIN generate_series(0, $1 - 1) AS k
        """,
        usages_each,
    )


@contextmanager
def counting_statements(server) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = server.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the campaigns' page and their count; one page of usages for all of them; the
        # usages' coupons (a coupon's usage count is its counter column, no statement)
        (NESTED, 4),
        # the campaigns' page; one page of usages (first: 3) for all of them; the user's
        # usages; their coupons; one page of usages (first: 2) for all of those
        (SIBLING_LOADERS, 5),
    ],
    ids=["nested", "siblings"],
)
def test_statement_count_does_not_grow_with_the_page(gql, db, server, query, expected):
    # given 50 campaigns with 4 usages each
    seed_campaigns(db, coupons=50, usages_each=4)
    counts = {}
    for first in (5, 50):
        # when
        with counting_statements(server) as statements:
            data = gql(query, {"first": first})
        counts[first] = len(statements)
        # then the answer really is nested and complete
        campaigns = data.get("activeCampaigns") or data["campaigns"]
        assert len(campaigns["edges"]) == first
        assert all(edge["node"]["usages"]["totalCount"] == 4 for edge in campaigns["edges"])
    assert counts == {5: expected, 50: expected}


def test_nested_usages_are_right_for_every_coupon(gql, db):
    seed_campaigns(db, coupons=5, usages_each=3)
    data = gql(NESTED, {"first": 5})["activeCampaigns"]
    for edge in data["edges"]:
        code = edge["node"]["code"]
        usages = edge["node"]["usages"]
        assert usages["totalCount"] == 3
        assert sorted(u["node"]["orderId"] for u in usages["edges"]) == [
            f"{code}-order-{k}" for k in range(3)
        ]
        assert {u["node"]["coupon"]["code"] for u in usages["edges"]} == {code}
