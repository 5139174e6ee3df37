"""The test suite's TCP proxy, in front of the real PostgreSQL: it forwards, it hangs (no
answer and no error, as when a network drops packets), and it recovers.

The short timeouts below check that nothing completes while the proxy hangs; they are not
speed assertions.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support.database import asyncpg_dsn
from tests.support.tcp_proxy import TcpProxy, database_target, tcp_proxy

HANG_SECONDS = 0.5


@pytest.fixture
def proxy(database_url: str) -> Iterator[TcpProxy]:
    with tcp_proxy(*database_target(database_url)) as running:
        yield running


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(url))


async def test_queries_go_through_the_proxy(proxy, database_url):
    # given the database's URL, with the proxy's address in it
    url = proxy.url_for(database_url)
    direct, proxied = make_url(database_url), make_url(url)
    assert (proxied.host, proxied.port) == ("127.0.0.1", proxy.port)
    assert (proxied.username, proxied.database) == (direct.username, direct.database)
    # when
    connection = await connect(url)
    try:
        answer = await connection.fetchval("SELECT current_database()")
    finally:
        await connection.close()
    # then
    assert answer == direct.database


async def test_while_hanging_nothing_answers_and_after_resume_new_connections_work(
    proxy, database_url
):
    # given a connection through the proxy that works
    url = proxy.url_for(database_url)
    existing = await connect(url)
    assert await existing.fetchval("SELECT 1") == 1
    try:
        # when the proxy hangs
        proxy.hang()
        # then a query on the open connection gets no answer, and no error either
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(existing.fetchval("SELECT 2"), HANG_SECONDS)
        # and a new connection is accepted but never answered
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connect(url), HANG_SECONDS)
        # when it resumes
        proxy.resume()
        # then a new connection works
        fresh = await asyncio.wait_for(connect(url), 10)
        try:
            assert await fresh.fetchval("SELECT 3") == 3
        finally:
            await fresh.close()
    finally:
        existing.terminate()


async def test_resume_closes_the_connections_that_were_open_during_the_hang(proxy, database_url):
    # given a connection through the proxy, frozen by a hang
    existing = await connect(proxy.url_for(database_url))
    try:
        proxy.hang()
        # when the proxy resumes
        proxy.resume()
        # then the connection is closed: its stream may have lost bytes
        with pytest.raises((asyncpg.ConnectionDoesNotExistError, ConnectionError)):
            await asyncio.wait_for(existing.fetchval("SELECT 1"), 10)
    finally:
        existing.terminate()


def test_the_proxy_leaves_nothing_behind(database_url):
    # given
    with tcp_proxy(*database_target(database_url)) as running:
        port = running.port
        process = running.process
    # then the process has ended, and its port is closed
    assert process.poll() == 0
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
