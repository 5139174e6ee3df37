"""A background worker: runs jobs until told to stop, starts again when it fails.

One process runs one procrastinate worker (up to background_concurrency jobs at once)
beside a check for stalled jobs: those whose worker stopped beating, killed or cut off,
are put back in the queue for another worker. Any number of workers may run, on any
number of machines: the database gives each job to one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable

import procrastinate
from procrastinate.exceptions import ConnectorException, UniqueViolation
from procrastinate.jobs import Job, Status

from db.engine import Database, create_engine
from graphql_api.background.queue import (
    APPLICATION_NAME,
    RESOURCES,
    Resources,
    open_job_app,
)
from graphql_api.background.tasks import build_job_app
from graphql_api.logs import configure_logging
from graphql_api.settings import Settings, get_settings

log = logging.getLogger(__name__)

# After a failure (the database went away), the next start waits this long.
RESTART_SECONDS = 5.0
# How often a worker started by serve checks that serve is still there.
PARENT_CHECK_SECONDS = 1.0
# Beyond background_shutdown_seconds, what a stopping worker may take to leave (unregister,
# close its pools); past it, it exits all the same.
LEAVING_SECONDS = 5.0

JobAppFactory = Callable[[Settings], procrastinate.App]


def main(build: JobAppFactory = build_job_app, parent_pid: int | None = None) -> None:
    """Run a background worker until SIGTERM or SIGINT; `coupons worker` and serve's child.

    With `parent_pid`, it also stops once that process is gone (serve was killed). Once told
    to stop, it is gone within background_shutdown_seconds + LEAVING_SECONDS, exiting with
    status 1 if it had to leave before it was done.
    `build` makes the job app; tests pass one with tasks of their own.
    """
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(_main(settings, build, parent_pid))


async def _main(settings: Settings, build: JobAppFactory, parent_pid: int | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    deadline = settings.background_shutdown_seconds + LEAVING_SECONDS

    def request_stop() -> None:
        if stop.is_set():
            return
        stop.set()
        # Whatever the database does, a worker told to stop is gone in bounded time; the
        # jobs it leaves behind are run again by the other workers (stalled jobs).
        loop.call_later(deadline, _abandon, deadline)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, request_stop)
    watch = None
    if parent_pid is not None:
        watch = asyncio.create_task(_stop_when_gone(parent_pid, request_stop))
    try:
        await run_worker(settings, stop, build)
    finally:
        if watch is not None:
            watch.cancel()


def _abandon(seconds: float) -> None:
    log.error("the background worker did not stop within %.0f s: leaving without it", seconds)
    os._exit(1)


async def run_worker(
    settings: Settings, stop: asyncio.Event, build: JobAppFactory = build_job_app
) -> None:
    """Run jobs until `stop` is set; a worker that fails starts again after RESTART_SECONDS.

    On stop, running jobs get background_shutdown_seconds to finish; then they are aborted,
    and run again later if their task retries.
    """
    while not stop.is_set():
        try:
            await _run_until(stop, build(settings), settings)
        except Exception:  # whatever it was, a worker that is not running does no work
            log.exception("background worker failed; starting again in %.0f s", RESTART_SECONDS)
        else:
            if not stop.is_set():
                log.error("background worker stopped; starting again in %.0f s", RESTART_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RESTART_SECONDS)
    log.info("background worker stopped")


async def _run_until(stop: asyncio.Event, app: procrastinate.App, settings: Settings) -> None:
    async with open_job_app(app, settings), _resources(settings) as resources:
        worker = asyncio.create_task(
            app.run_worker_async(
                name=APPLICATION_NAME,
                concurrency=settings.background_concurrency,
                fetch_job_polling_interval=settings.background_poll_seconds,
                abort_job_polling_interval=settings.background_poll_seconds,
                listen_notify=settings.background_listen_notify,
                update_heartbeat_interval=settings.background_heartbeat_seconds,
                stalled_worker_timeout=settings.background_stalled_seconds,
                shutdown_graceful_timeout=settings.background_shutdown_seconds,
                install_signal_handlers=False,  # _main's handlers stop it, with the rest
                additional_context={RESOURCES: resources},
            )
        )
        recovery = asyncio.create_task(_retry_stalled_jobs(app, settings))
        stopping = asyncio.create_task(stop.wait())
        try:
            # A worker that stops by itself (it does when its heartbeat fails) returns here.
            await asyncio.wait({worker, recovery, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            recovery.cancel()
            stopping.cancel()
            await asyncio.gather(recovery, stopping, return_exceptions=True)
            # Cancelling is how procrastinate is told to stop: it lets running jobs finish
            # for shutdown_graceful_timeout, then aborts them, then leaves.
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise


@contextlib.asynccontextmanager
async def _resources(settings: Settings) -> AsyncIterator[Resources]:
    engine = create_engine(
        settings.require_database_url(),
        pool_size=settings.background_concurrency,
        max_overflow=settings.background_concurrency,
        pool_timeout=settings.pool_timeout,
        connect_timeout=settings.connect_timeout,
        statement_timeout=settings.statement_timeout,
        application_name=APPLICATION_NAME,
    )
    try:
        yield Resources(settings=settings, db=Database(engine))
    finally:
        await engine.dispose()


async def _retry_stalled_jobs(app: procrastinate.App, settings: Settings) -> None:
    """Every heartbeat, queue again the jobs of workers silent for background_stalled_seconds.

    Every worker does this; when two reach the same job, the database lets one win. When
    another job for the same lock already waits (the next period of a chore, say), the
    stalled one is written failed instead: the waiting one does its work, and a stalled job
    left `doing` would hold the lock for ever.
    """
    while True:
        await asyncio.sleep(settings.background_heartbeat_seconds)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=settings.background_stalled_seconds
            )
            for job in stalled:
                await _run_again(app, job)
        except Exception:  # the next beat tries again
            log.exception("the check for stalled background jobs failed")


async def _run_again(app: procrastinate.App, job: Job) -> None:
    try:
        await app.job_manager.retry_job(job)
    except UniqueViolation:
        await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
        log.warning(
            "stalled background job %s (%s) given up: another for its lock waits",
            job.id,
            job.task_name,
        )
    except ConnectorException:
        return  # another worker got to it first: it is no longer `doing`
    else:
        log.warning("stalled background job %s (%s) queued again", job.id, job.task_name)


async def _stop_when_gone(parent_pid: int, request_stop: Callable[[], None]) -> None:
    # A process whose parent dies is handed to another: its parent id changes.
    while True:
        await asyncio.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            break
    log.warning("serve is gone (process %d): stopping the background worker", parent_pid)
    request_stop()
