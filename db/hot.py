"""The hottest statements on a plain asyncpg pool: no ORM session, no SQL compilation.

Each connection prepares a statement the first time it runs it and keeps it (asyncpg's
statement cache), so a coupon lookup or a redemption is one round trip of a prepared
statement. The pool opens on first use, so creating an app does no I/O.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

# A connection that died while idle in the pool (a restart, pg_terminate_backend) fails
# when it is used: retried once on another. Both hot statements are safe to repeat: a
# lookup reads, and a redemption of the same order answers with the usage it recorded.
_STALE = (asyncpg.ConnectionDoesNotExistError,)


async def _keep_session(_connection: asyncpg.Connection) -> None:
    return None


class HotPool:
    def __init__(
        self,
        database_url: str,
        *,
        size: int,
        acquire_timeout: float,
        connect_timeout: float,
        statement_timeout: float,
    ) -> None:
        self._dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._size = size
        self._acquire_timeout = acquire_timeout
        self._connect_timeout = connect_timeout
        self._statement_timeout = statement_timeout
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._size,
                    timeout=self._connect_timeout,
                    command_timeout=self._statement_timeout,
                    server_settings={"application_name": "coupons", "timezone": "UTC"},
                    # The default reset is a round trip on every release (RESET ALL, UNLISTEN
                    # ...) undoing session state these statements never set.
                    reset=_keep_session,
                )
        return self._pool

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._run("fetchrow", sql, args)
        return row

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._run("fetch", sql, args)
        return rows

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        """`connection.<method>(sql, *args)` on a pooled connection, retried once on another
        when the first was found dead."""
        pool = self._pool or await self._open()
        for attempt in (1, 2):
            try:
                async with pool.acquire(timeout=self._acquire_timeout) as connection:
                    try:
                        return await getattr(connection, method)(sql, *args)
                    except asyncio.CancelledError:
                        # Cancelled mid-statement (the request's deadline passed): the
                        # connection is busy with an answer that may never come, so no reset
                        # on release could finish. Drop it instead of handing it back.
                        connection.terminate()
                        raise
            except _STALE:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def size(self) -> int:
        return 0 if self._pool is None else int(self._pool.get_size())

    def in_use(self) -> int:
        if self._pool is None:
            return 0
        return int(self._pool.get_size() - self._pool.get_idle_size())

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
