"""Generated operations, valid and subtly invalid: never a 5xx, never an internal error,
and nothing written by a request that was refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from tests.support.servers import REPO

SCHEMA = (REPO / "schema.graphql").read_text()

# Scalars as clients send them: well-formed values most of the time, plus junk.
DECIMALS = st.one_of(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=20),
).map(nodes.String)
DATETIMES = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.text(max_size=30),
).map(nodes.String)
SCALARS = {"Decimal": DECIMALS, "DateTime": DATETIMES}

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot(db) -> tuple:
    return tuple(
        db.fetch(
            "SELECT (SELECT count(*) FROM coupons), (SELECT count(*) FROM coupon_usages),"
            " (SELECT max(updated_at) FROM coupons)"
        )[0]
    )


def check_answer(gql, document: str) -> dict:
    response = gql.http.post("/graphql", json={"query": document})
    assert response.status_code < 500, response.text
    body = response.json()
    for error in body.get("errors") or ():
        assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", (
            document,
            error,
        )
    return body


def succeeded(body: dict) -> bool:
    """Whether any payload in the answer carries the object it was asked to make."""
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict) and not payload.get("errors"):
            return True
    return False


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
def test_generated_queries(gql, mode):
    @FUZZ
    @given(document=queries(SCHEMA, custom_scalars=SCALARS, mode=mode))
    def run(document: str) -> None:
        check_answer(gql, document)

    run()


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE], ids=["valid", "invalid"])
def test_generated_mutations_write_nothing_when_refused(gql, db, mode):
    @FUZZ
    @given(document=mutations(SCHEMA, custom_scalars=SCALARS, mode=mode))
    def run(document: str) -> None:
        before = snapshot(db)
        body = check_answer(gql, document)
        if not succeeded(body):
            assert snapshot(db) == before, document

    run()
