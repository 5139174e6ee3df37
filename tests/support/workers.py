"""Background workers under test, each its own process: `coupons worker`, or one with test tasks."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql_api.background.queue import defer_once, new_job_app, open_job_app
from graphql_api.settings import Settings
from tests.support.database import Database, run_sync
from tests.support.servers import REPO, environment

COUPONS_WORKER = ("-m", "graphql_api", "worker")
TEST_TASKS_WORKER = ("-m", "tests.support.background_tasks")
# Short enough for tests of seconds: a worker killed now is taken for dead in 2 s.
FAST = {
    "COUPONS_BACKGROUND_POLL_SECONDS": "0.1",
    "COUPONS_BACKGROUND_HEARTBEAT_SECONDS": "0.5",
    "COUPONS_BACKGROUND_STALLED_SECONDS": "2",
    "COUPONS_BACKGROUND_SHUTDOWN_SECONDS": "5",
}


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then its exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


@contextmanager
def worker_processes(
    database_url: str, count: int, *command: str, env: dict[str, str] | None = None
) -> Iterator[list[WorkerProcess]]:
    """`count` workers (`command`, default the test-tasks worker) started at once on one database.

    Each logs to a file of its own. Whatever still runs at the end is stopped with SIGTERM,
    and killed if it has not stopped within 20 s.
    """
    command = command or TEST_TASKS_WORKER
    settings = {"DATABASE_URL": database_url, **FAST, **(env or {})}
    with tempfile.TemporaryDirectory(prefix="coupons-workers-") as log_dir:
        workers = []
        try:
            for number in range(count):
                log_path = Path(log_dir) / f"worker-{number}.log"
                with log_path.open("wb") as log_file:
                    process = subprocess.Popen(  # noqa: S603  # our own command line
                        [sys.executable, *command],
                        cwd=REPO,
                        env=environment(settings),
                        stdout=log_file,
                        stderr=subprocess.STDOUT,
                    )
                workers.append(WorkerProcess(process, log_path))
            yield workers
        finally:
            for worker in workers:
                if worker.process.poll() is None:
                    worker.process.terminate()
            for worker in workers:
                try:
                    worker.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.process.kill()
                    worker.process.wait()


def wait_for(db: Database, sql: str, expected: object, *args: object, timeout: float = 10) -> None:
    """Poll `sql`'s value until it is `expected`; past the deadline, fail with what it was."""
    deadline = time.monotonic() + timeout
    while (value := db.value(sql, *args)) != expected:
        assert time.monotonic() < deadline, f"{sql!r} is {value!r}, not {expected!r}"
        time.sleep(0.05)


def wait_for_workers(db: Database, workers: list[WorkerProcess], timeout: float = 20) -> None:
    """Until `workers` have all registered in the database; if not, fail with their logs."""
    deadline = time.monotonic() + timeout
    while db.value("SELECT count(*) FROM procrastinate_workers") < len(workers):
        if time.monotonic() > deadline or any(w.process.poll() is not None for w in workers):
            logs = "\n".join(w.log()[-3000:] for w in workers)
            raise AssertionError(f"the workers did not all start; their logs:\n{logs}")
        time.sleep(0.05)


def defer_jobs(database_url: str, *jobs: tuple[str, str, dict[str, Any]]) -> list[int | None]:
    """Each (task name, key, arguments) queued with defer_once, as a web process would queue
    it; the job ids, None for each one refused because another for its key waits."""

    async def defer_all() -> list[int | None]:
        app = new_job_app()
        async with open_job_app(app, Settings(database_url=database_url)):
            return [await defer_once(app, task, key, **arguments) for task, key, arguments in jobs]

    deferred: list[int | None] = run_sync(defer_all())
    return deferred
