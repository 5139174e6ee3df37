"""Integration tests: a real PostgreSQL, the real app, real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.migrate import upgrade_to_head
from tests.support.database import Database, throwaway_database
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, thread_server
from tests.support.workers import COUPONS_WORKER, worker_processes


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with throwaway_database() as url:
        upgrade_to_head(url)
        yield url


@pytest.fixture(scope="session")
def db(database_url: str) -> Database:
    return Database(database_url)


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[ThreadServer]:
    """The app in a thread, and beside it a `coupons worker` that runs code generation jobs
    as in production. Its sweeps are off: tests look at rows no sweep has touched."""
    worker_settings = {"COUPONS_BACKGROUND_SWEEPS": "false"}
    with (
        worker_processes(database_url, 1, *COUPONS_WORKER, env=worker_settings),
        thread_server(database_url) as running,
    ):
        yield running


@pytest.fixture
def clean_db(db: Database) -> Database:
    """Each test starts from empty tables (TRUNCATE: usages refuse DELETE)."""
    db.execute(
        "TRUNCATE coupon_reservations, coupon_usages, coupons, code_generation_jobs,"
        " campaigns, guess_counters"
    )
    return db


@pytest.fixture
def gql(server: ThreadServer, clean_db: Database) -> Iterator[GraphQLClient]:
    client = GraphQLClient(server.base_url)
    yield client
    client.close()
