"""`coupons serve`'s background worker: one child process beside the web server."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from graphql_api.background.worker import LEAVING_SECONDS, RESTART_SECONDS
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

# `ps` shows it as what it is; it reads its settings from the environment, as uvicorn's
# workers do.
COMMAND = (sys.executable, "-m", "graphql_api.background")
# The worker leaves by itself in its shutdown time and LEAVING_SECONDS; this is for a
# worker that cannot even do that.
KILL_AFTER_SECONDS = LEAVING_SECONDS + 5.0


@contextmanager
def worker_process(settings: Settings) -> Iterator[None]:
    """Run a background worker in a child process while the block runs.

    A child, not a task in each of uvicorn's workers: one per serve whatever --workers is,
    and a long job never holds up a request. Restarted if it dies. When the block ends it
    is sent SIGTERM and given background_shutdown_seconds to finish its jobs, then killed.
    It stops by itself if serve is killed.
    """
    stopping = threading.Event()
    guard = threading.Lock()
    running: list[subprocess.Popen[bytes]] = []

    def supervise() -> None:
        while True:
            with guard:
                if stopping.is_set():
                    return
                child = subprocess.Popen(  # noqa: S603  # our own command line
                    [*COMMAND, str(os.getpid())]
                )
                running[:] = [child]
            status = child.wait()
            if stopping.is_set():
                return
            log.error(
                "the background worker exited with status %s; starting another in %.0f s",
                status,
                RESTART_SECONDS,
            )
            if stopping.wait(RESTART_SECONDS):
                return

    supervisor = threading.Thread(target=supervise, name="coupons-worker-supervisor", daemon=True)
    supervisor.start()
    try:
        yield
    finally:
        with guard:
            stopping.set()
        for child in running:
            _stop(child, settings.background_shutdown_seconds + KILL_AFTER_SECONDS)
        supervisor.join()


def _stop(child: subprocess.Popen[bytes], timeout: float) -> None:
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        log.error("the background worker did not stop within %.0f s: killing it", timeout)
        child.kill()
        child.wait()
