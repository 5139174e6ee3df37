"""The test suite's TCP proxy against an echo server of the test's own: bytes both ways,
a hang that moves nothing and closes nothing, resume, and a clean end.

Reads that must not complete are given a short timeout: that checks a hang, not a speed.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.support.tcp_proxy import TcpProxy, tcp_proxy

QUIET_SECONDS = 0.5


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback server that echoes every connection's bytes back until it closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    stopping = threading.Event()

    def echo(connection: socket.socket) -> None:
        with connection:
            while data := connection.recv(4096):
                connection.sendall(data)

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        acceptor.join(timeout=5)


@pytest.fixture
def proxy(echo_port: int) -> Iterator[TcpProxy]:
    with tcp_proxy("127.0.0.1", echo_port) as running:
        yield running


def client(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=5)


def quiet(sock: socket.socket) -> bool:
    """Whether nothing at all (not even an end of stream) arrives for a while."""
    sock.settimeout(QUIET_SECONDS)
    try:
        sock.recv(1)
    except TimeoutError:
        return True
    finally:
        sock.settimeout(5)
    return False


def test_bytes_go_both_ways(proxy):
    with closing(client(proxy)) as sock:
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"


def test_a_hang_forwards_nothing_closes_nothing_and_still_accepts(proxy):
    # given a connection that forwards
    with closing(client(proxy)) as before:
        before.sendall(b"a")
        assert before.recv(1) == b"a"
        # when
        proxy.hang()
        # then nothing comes back on it, not even an end of stream
        before.sendall(b"b")
        assert quiet(before)
        # and a new connection is accepted, and gets nothing either
        with closing(client(proxy)) as during:
            during.sendall(b"c")
            assert quiet(during)


def test_resume_closes_what_the_hang_froze_and_forwards_new_connections(proxy):
    # given a connection frozen by a hang, and one accepted during it
    with closing(client(proxy)) as before, closing(client(proxy)) as during:
        proxy.hang()
        during.sendall(b"c")
        proxy.wait_until_holding(forwarding=0, frozen=2)
        # when
        proxy.resume()
        # then both are closed by the proxy, nothing forwarded
        assert before.recv(1) == b""
        assert during.recv(1) == b""
    # and a new connection forwards
    with closing(client(proxy)) as after:
        after.sendall(b"d")
        assert after.recv(1) == b"d"
    proxy.wait_until_holding(forwarding=0, frozen=0)


@pytest.mark.parametrize("how", ["end of stdin", "SIGTERM"])
def test_the_proxy_ends_closing_every_connection(echo_port, how):
    with tcp_proxy("127.0.0.1", echo_port) as running, closing(client(running)) as sock:
        # given an open connection, forwarding
        sock.sendall(b"e")
        assert sock.recv(1) == b"e"
        # when
        if how == "SIGTERM":
            running.process.send_signal(signal.SIGTERM)
        else:
            assert running.process.stdin is not None
            running.process.stdin.close()
        # then
        assert running.process.wait(timeout=10) == 0
        assert sock.recv(1) == b""
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", running.port))
