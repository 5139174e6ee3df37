"""Real webhook receivers on loopback: an HTTP server that records what it is sent and
answers as told, and a socket that accepts connections and never says a word."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int  # the status the receiver answered with

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Records every request; `answer(index)` says the status of the index-th (0-based)."""

    def __init__(self, answer: Callable[[int], int], body: bytes = b"ok", delay: float = 0.0):
        self.answer = answer
        self.answer_body = body
        self.delay = delay
        self.received: list[Received] = []  # written when answered
        self.arrived = 0  # requests read, answered or not yet
        self.lock = threading.Lock()
        self.url = ""

    @property
    def acknowledged(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Until `count` requests were answered 2xx; fails with what came."""
        deadline = time.monotonic() + timeout
        while len(done := self.acknowledged) < count:
            assert time.monotonic() < deadline, (
                f"{len(done)} of {count} acknowledged in {timeout} s; "
                f"{len(self.received)} requests came"
            )
            time.sleep(0.05)
        return done

    def wait_for_ids(self, count: int, timeout: float = 30.0) -> set[str]:
        """Until `count` different webhook ids were answered 2xx (repeats are allowed)."""
        deadline = time.monotonic() + timeout
        while len(ids := {r.webhook_id for r in self.acknowledged}) < count:
            assert time.monotonic() < deadline, f"{len(ids)} of {count} ids in {timeout} s"
            time.sleep(0.05)
        return ids


@contextmanager
def http_receiver(
    answer: Callable[[int], int] = lambda _: 204, body: bytes = b"ok", delay: float = 0.0
) -> Iterator[Receiver]:
    receiver = Receiver(answer, body, delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            data = self.rfile.read(length)
            with receiver.lock:
                receiver.arrived += 1
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                status = receiver.answer(len(receiver.received))
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, data, status)
                )
            body = b"" if status in (204, 304) else receiver.answer_body
            try:
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up (a stopped worker): it sends again later

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base_url:
        receiver.url = f"{base_url}/hooks"
        yield receiver


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on a free loopback port, a thread per request; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def silent_receiver() -> Iterator[tuple[str, list[socket.socket]]]:
    """A socket that accepts every connection and never answers; its URL and the
    connections it took."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    taken: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            taken.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/silent", taken
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in taken:
            connection.close()
        listener.close()
