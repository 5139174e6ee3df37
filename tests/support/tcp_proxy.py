"""A TCP proxy that a test can make hang, like a network that drops packets.

Run as its own process (`python -m tests.support.tcp_proxy --target-host H --target-port P`),
it listens on a free loopback port, prints `listening 127.0.0.1 <port>` once ready, and
forwards bytes both ways. Lines on its stdin control it, each acknowledged by one line:

- `hang`: forward nothing more, in either direction, on any connection; keep accepting new
  connections; close nothing (`ok hang`). A peer sees what a silent network shows it.
- `resume`: close every connection that was open during the hang, whose streams may have
  lost bytes; forward new ones again (`ok resume`).
- `connections`: how many it holds, forwarding and frozen by a hang
  (`ok connections <forwarding> <frozen>`), for tests to wait on instead of sleeping.

EOF on stdin, SIGTERM or SIGINT close everything and end it. A target host that starts
with `/` is a Unix socket directory, as in libpq (an embedded PostgreSQL listens there).

Tests use the context manager: `with tcp_proxy(host, port) as proxy: proxy.hang() ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
CHUNK = 65536
REPO = Path(__file__).resolve().parents[2]


# --- the proxy process ----------------------------------------------------------------------


@dataclass(eq=False)
class _Link:
    """One client connection and, once made, its connection to the target."""

    client: asyncio.StreamWriter
    target: asyncio.StreamWriter | None = None
    # Set when a hang began while it was open (or it opened during one): it forwards
    # nothing more, and the next resume closes it.
    frozen: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self) -> None:
        for writer in (self.client, self.target):
            if writer is not None:
                writer.transport.abort()  # no lingering: the peer sees the close at once
        self.closed.set()


class _Proxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.hanging = False
        self.links: set[_Link] = set()

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.target_host.startswith("/"):
            path = f"{self.target_host}/.s.PGSQL.{self.target_port}"
            return await asyncio.open_unix_connection(path)
        return await asyncio.open_connection(self.target_host, self.target_port)

    async def serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        link = _Link(client=writer, frozen=self.hanging)
        self.links.add(link)
        try:
            if link.frozen:
                await link.closed.wait()  # accepted, never answered: the target is unreachable
                return
            try:
                target_reader, link.target = await self._open_target()
            except OSError:
                link.close()
                return
            if link.frozen:  # a hang began while the target was being reached
                await link.closed.wait()
                return
            await asyncio.gather(
                self._pump(link, reader, link.target), self._pump(link, target_reader, writer)
            )
        finally:
            self.links.discard(link)

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                data = await source.read(CHUNK)
            except OSError:
                data = b""
            if link.frozen:
                # Bytes read during a hang are dropped, an end of stream is not passed on:
                # nothing moves and nothing closes until resume closes the link.
                await link.closed.wait()
                return
            if not data:
                link.close()
                return
            sink.write(data)
            try:
                await sink.drain()
            except OSError:
                link.close()
                return

    def hang(self) -> None:
        self.hanging = True
        for link in self.links:
            link.frozen = True

    def resume(self) -> None:
        self.hanging = False
        for link in [link for link in self.links if link.frozen]:
            link.close()

    def close_all(self) -> None:
        for link in list(self.links):
            link.close()


async def _stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def run_proxy(target_host: str, target_port: int) -> None:
    proxy = _Proxy(target_host, target_port)
    server = await asyncio.start_server(proxy.serve_client, LOOPBACK, 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    commands = await _stdin_lines()

    async def obey() -> None:
        while line := await commands.readline():
            command = line.decode().strip()
            if command == "hang":
                proxy.hang()
            elif command == "resume":
                proxy.resume()
            elif command == "connections":
                frozen = sum(link.frozen for link in proxy.links)
                command += f" {len(proxy.links) - frozen} {frozen}"
            elif command:
                _say(f"error unknown command {command!r}")
                continue
            else:
                continue
            _say(f"ok {command}")
        stop.set()  # EOF: whoever controlled us is gone

    port = server.sockets[0].getsockname()[1]
    _say(f"listening {LOOPBACK} {port}")
    obeying = asyncio.create_task(obey())
    try:
        await stop.wait()
    finally:
        obeying.cancel()
        server.close()
        proxy.close_all()
        await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description="A TCP proxy a test can make hang.")
    parser.add_argument("--target-host", required=True, help="host, or a Unix socket directory")
    parser.add_argument("--target-port", required=True, type=int)
    args = parser.parse_args()
    asyncio.run(run_proxy(args.target_host, args.target_port))


# --- the tests' side --------------------------------------------------------------------------

ANSWER_TIMEOUT_SECONDS = 10.0


class TcpProxy:
    """A running proxy process; its answers are read by a thread into a queue."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        words = self._answer().split()
        assert words[:2] == ["listening", LOOPBACK], words
        self.host = LOOPBACK
        self.port = int(words[2])

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _answer(self) -> str:
        try:
            line = self._lines.get(timeout=ANSWER_TIMEOUT_SECONDS)
        except queue.Empty:
            raise AssertionError("the proxy did not answer") from None
        assert line is not None, f"the proxy ended (exit code {self.process.poll()})"
        return line

    def _command(self, command: str) -> list[str]:
        """Send `command`; the words of its acknowledgement after `ok <command>`."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self._answer()
        assert answer.startswith(f"ok {command}"), answer
        return answer.split()[2:]

    def hang(self) -> None:
        """Forward nothing from now on; returns once the proxy has taken it in."""
        self._command("hang")

    def resume(self) -> None:
        """Close the connections open during the hang; forward new ones again."""
        self._command("resume")

    def connections(self) -> tuple[int, int]:
        """How many connections it holds: (forwarding, frozen by a hang)."""
        forwarding, frozen = self._command("connections")
        return int(forwarding), int(frozen)

    def wait_until_holding(
        self, *, forwarding: int | None = None, frozen: int | None = None
    ) -> None:
        """Poll until it holds that many connections; fail past the answer timeout."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
        while True:
            held = self.connections()
            if forwarding in (None, held[0]) and frozen in (None, held[1]):
                return
            assert time.monotonic() < deadline, f"holds {held}, not {(forwarding, frozen)}"
            time.sleep(0.01)

    def url_for(self, database_url: str) -> str:
        """`database_url`, through the proxy."""
        from sqlalchemy.engine import make_url  # here: the proxy process need not import it

        url = make_url(database_url).difference_update_query(["host", "port"])
        return url.set(host=self.host, port=self.port).render_as_string(hide_password=False)

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # EOF: the proxy closes everything and ends
        try:
            self.process.wait(timeout=ANSWER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=ANSWER_TIMEOUT_SECONDS)
        if self.process.stdout is not None:
            self.process.stdout.close()


def database_target(database_url: str) -> tuple[str, int]:
    """The host (or Unix socket directory) and port a `postgresql://` URL connects to."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    host = url.host or str(url.query.get("host") or "localhost")
    return host, url.port or int(str(url.query.get("port") or 5432))


@contextmanager
def tcp_proxy(host: str, port: int) -> Iterator[TcpProxy]:
    """A proxy process in front of `host:port`, stopped (with all its sockets) on exit."""
    process = subprocess.Popen(  # noqa: S603  # our own module, run by this interpreter
        [
            sys.executable,
            "-m",
            "tests.support.tcp_proxy",
            "--target-host",
            host,
            "--target-port",
            str(port),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    try:
        proxy = TcpProxy(process)
    except BaseException:
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        raise
    try:
        yield proxy
    finally:
        proxy.stop()


if __name__ == "__main__":
    main()
