"""Gates: the committed SDL is the running schema; models and migrations agree."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from graphql_api.schema import schema
from tests.support.database import Database, throwaway_database
from tests.support.servers import REPO


def test_schema_graphql_is_the_running_schema():
    assert (REPO / "schema.graphql").read_text() == schema.as_str() + "\n"


def test_export_schema_prints_schema_graphql():
    printed = subprocess.run(
        [sys.executable, "-m", "graphql_api", "export-schema"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == (REPO / "schema.graphql").read_text()


def test_alembic_check_finds_no_drift(database_url):
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_many_replicas_migrating_at_once_are_safe():
    with throwaway_database() as url:
        env = {**os.environ, "DATABASE_URL": url}

        def migrate(_: int) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "graphql_api", "migrate"],
                cwd=REPO,
                capture_output=True,
                text=True,
                env=env,
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(migrate, range(4)))
        assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
        database = Database(url)
        assert database.value("select count(*) from alembic_version") == 1
        assert database.value("select to_regclass('coupon_usages')::text") == "coupon_usages"
