"""A throwaway database for the test run, and direct SQL for arranging and checking state."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from db.embedded import EmbeddedPostgres


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_sync(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run to completion on a private loop, also when called from inside an async test."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# Every table of the service's own data: what a test empties to start from nothing.
SERVICE_TABLES = (
    "coupon_reservations, coupon_usages, coupons, code_generation_jobs, campaigns,"
    " guess_counters, events, webhook_attempts, webhook_deliveries, webhook_streams,"
    " webhook_endpoints"
)


class Database:
    """Synchronous helpers over a fresh asyncpg connection each; tests are not in a hurry."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        connection = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            return await getattr(connection, method)(sql, *args)
        finally:
            await connection.close()

    def execute(self, sql: str, *args: Any) -> str:
        return str(run_sync(self._run("execute", sql, *args)))

    def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(run_sync(self._run("fetch", sql, *args)))

    def value(self, sql: str, *args: Any) -> Any:
        return run_sync(self._run("fetchval", sql, *args))

    def truncate(self, tables: str = SERVICE_TABLES) -> None:
        """TRUNCATE `tables` (comma-separated; the service's own by default). A background
        worker keeps reading some of them; a TRUNCATE takes its locks table by table, so the
        two can wait on each other, and PostgreSQL then cancels one: this one is tried again."""
        for attempt in range(5):
            try:
                self.execute(f"TRUNCATE {tables}")
                return
            except asyncpg.DeadlockDetectedError:
                if attempt == 4:
                    raise


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new database on DATABASE_URL's server, or on an embedded server when it is unset."""
    admin_url = os.environ.get("DATABASE_URL")
    if admin_url:
        with _database_on(admin_url) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="coupons-test-") as data_dir:
        embedded = EmbeddedPostgres(Path(data_dir))
        try:
            with _database_on(embedded.start()) as url:
                yield url
        finally:
            embedded.stop()  # before the directory goes


@contextmanager
def _database_on(admin_url: str) -> Iterator[str]:
    name = f"coupons_test_{secrets.token_hex(4)}"
    admin = Database(admin_url)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
