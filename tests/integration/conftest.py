"""Integration tests: a real PostgreSQL, the real app, real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.migrate import upgrade_to_head
from tests.support.callers import API_KEYS, CallerClient
from tests.support.database import Database, throwaway_database
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, thread_server
from tests.support.workers import COUPONS_WORKER, worker_processes

# Who answers and who asks, for modules marked `every_answerer`: the compiled paths or GraphQL
# execution, called by an admin or by a storefront.
ANSWERERS = [
    f"{path} {role}" for path in ("compiled", "executed") for role in ("admin", "storefront")
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "every_answerer: run each test with `gql` on both answering paths (compiled, executed),"
        " as an admin and as a storefront",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("every_answerer") and "gql" in metafunc.fixturenames:
        metafunc.parametrize("gql", ANSWERERS, indirect=True)


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


@pytest.fixture(scope="session")
def keyed_servers(server: ThreadServer, database_url: str) -> Iterator[dict[str, ThreadServer]]:
    """Servers with an admin and a storefront key: one on each answering path."""
    with (
        thread_server(database_url, api_keys=API_KEYS) as compiled,
        thread_server(database_url, api_keys=API_KEYS, compiled_operations=False) as executed,
    ):
        yield {"compiled": compiled, "executed": executed}


@pytest.fixture
def clean_db(db: Database) -> Database:
    """Each test starts from empty tables (TRUNCATE: usages refuse DELETE)."""
    db.truncate()
    return db


@pytest.fixture
def gql(request: pytest.FixtureRequest, clean_db: Database) -> Iterator[GraphQLClient]:
    """A client of the default server (no keys: an admin, compiled paths on); in modules
    marked `every_answerer`, of each answering path as each caller."""
    answerer: str | None = getattr(request, "param", None)
    client: GraphQLClient
    if answerer is None:
        client = GraphQLClient(request.getfixturevalue("server").base_url)
    else:
        path, role = answerer.split()
        client = CallerClient(request.getfixturevalue("keyed_servers")[path].base_url, role)
    yield client
    client.close()
