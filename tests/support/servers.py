"""The service under test, over real HTTP: in a thread of this process, or as `coupons serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from graphql_api.app import create_app
from graphql_api.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(base_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{base_url} did not become healthy in {timeout}s")


@contextmanager
def asgi_server(app: Any) -> Iterator[str]:
    """Any ASGI app under uvicorn in a thread of this process; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("the ASGI app did not start in 15 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class ThreadServer:
    base_url: str
    app: Starlette


@contextmanager
def thread_server(database_url: str, **settings: Any) -> Iterator[ThreadServer]:
    """The real app under uvicorn in a thread, so tests can watch its engine."""
    app = create_app(Settings(database_url=database_url, **settings))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as `coupons serve` runs it
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url)
        yield ThreadServer(base_url=base_url, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class ProcessServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


def environment(env: dict[str, str], unset: tuple[str, ...] = ()) -> dict[str, str]:
    return {k: v for k, v in {**os.environ, **env}.items() if k not in unset}


@contextmanager
def process_server(
    env: dict[str, str],
    *args: str,
    cwd: Path = REPO,
    unset: tuple[str, ...] = (),
    port: int | None = None,
    wait: bool = True,
) -> Iterator[ProcessServer]:
    """`coupons serve` as its own process tree, logging to a file; stopped with SIGTERM.

    wait=False hands it over as soon as it is started (call wait_until_healthy yourself).
    The log file goes with the server: read it inside the `with`.
    """
    port = free_port() if port is None else port
    command = [sys.executable, "-m", "graphql_api", "serve", "--port", str(port), *args]
    with tempfile.TemporaryDirectory(prefix="coupons-serve-") as log_dir:
        log_path = Path(log_dir) / "serve.log"
        # A file, not a pipe: nobody reads a pipe while the test runs, and a full one blocks.
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603  # our own command line
                command,
                cwd=cwd,
                env=environment(env, unset),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        server = ProcessServer(f"http://127.0.0.1:{port}", process, log_path)
        try:
            if wait:
                wait_for_server(server)
            yield server
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_for_server(server: ProcessServer, timeout: float = 60) -> None:
    """Until it answers /health; if it never does, fail with what it logged."""
    try:
        wait_until_healthy(server.base_url, timeout=timeout)
    except TimeoutError as error:
        exited = server.process.poll()
        raise AssertionError(
            f"{error} (exit status {exited}); its log:\n" + "\n".join(server.log_lines()[-40:])
        ) from None


def run_coupons(
    env: dict[str, str], *args: str, unset: tuple[str, ...] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """A `coupons` command that is expected to finish by itself; its output as text."""
    return subprocess.run(  # noqa: S603  # our own command line
        [sys.executable, "-m", "graphql_api", *args],
        cwd=REPO,
        env=environment(env, unset),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
