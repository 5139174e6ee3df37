"""Background work: chores and jobs run by workers, once each, however many workers run.

Contract: a chore runs once per period and never two runs at once, across all workers; a
deferred job runs once, and for one key at most one job waits and one runs; a job whose
worker is killed is run again by another worker, and a chore goes on without it.
`coupons worker` runs the chores and stops cleanly on SIGTERM; `coupons serve` runs one
worker beside the web server (none when told not to) and takes it along when it stops,
however it stops.

Every worker here is a process of its own on one database, as replicas would be. Most run
the tests' own tasks (tests/support/background_tasks.py), which write each run to
`background_runs`, in a database of this module's own.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from db.migrate import upgrade_to_head
from tests.support.background_tasks import RUNS_TABLE
from tests.support.database import Database, throwaway_database
from tests.support.servers import process_server
from tests.support.workers import (
    COUPONS_WORKER,
    FAST,
    TEST_TASKS_WORKER,
    defer_jobs,
    wait_for,
    wait_for_workers,
    worker_processes,
)

WORKERS = "SELECT count(*) FROM procrastinate_workers"
ENDED_RUNS = "SELECT count(*) FROM background_runs WHERE ended_at IS NOT NULL"
JOB_STATUS = "SELECT status::text FROM procrastinate_jobs WHERE id = $1"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A database of this module's own: `background_runs` would upset `alembic check`."""
    with throwaway_database() as database_url:
        upgrade_to_head(database_url)
        Database(database_url).execute(RUNS_TABLE)
        yield database_url


@pytest.fixture
def db(url: str) -> Database:
    database = Database(url)
    database.execute(
        "TRUNCATE background_runs, procrastinate_events, procrastinate_periodic_defers,"
        " procrastinate_jobs, procrastinate_workers, coupon_reservations, coupon_usages, coupons,"
        " code_generation_jobs, campaigns, guess_counters"
    )
    return database


def record_job(label: str, seconds: float = 0.1, first_run_seconds: float | None = None) -> Any:
    """The (task, key, arguments) of a record_job for `label`, keyed by it."""
    first = seconds if first_run_seconds is None else first_run_seconds
    return ("record_job", label, {"label": label, "seconds": seconds, "first_run_seconds": first})


def insert_coupon(db: Database, code: str, *, closed: bool) -> None:
    """An ACTIVE campaign whose window closed a minute ago, or is open for a day."""
    until = "now() - interval '1 minute'" if closed else "now() + interval '1 day'"
    db.execute(
        f"""
        INSERT INTO coupons (code, type, discount_type, discount_value, valid_from, valid_until,
                             max_uses_per_user, current_total_uses, status)
        VALUES ($1, 'TIME_SPECIFIC', 'FIXED', 5, now() - interval '2 days', {until}, 1, 0,
                'ACTIVE')
        """,  # noqa: S608  # `until` is one of this function's two constants
        code,
    )


def statuses(db: Database) -> dict[str, str]:
    return dict(db.fetch("SELECT code, status::text FROM coupons"))


def test_coupons_worker_runs_the_chores_and_stops_cleanly_on_sigterm(db, url):
    # given a coupon stored ACTIVE past its window, one within it, and guessing counts of
    # a window that ran out an hour ago and of one still running
    insert_coupon(db, "CLOSED", closed=True)
    insert_coupon(db, "OPEN", closed=False)
    db.execute(
        "INSERT INTO guess_counters (subject, window_started, failures)"
        " VALUES ('user:old', now() - interval '1 hour', 3), ('user:new', now(), 1)"
    )
    sweeps = {"COUPONS_EXPIRY_SWEEP_SECONDS": "1", "COUPONS_GUESS_SWEEP_SECONDS": "1"}

    # when `coupons worker` runs with both chores every second, and no request is made
    with worker_processes(url, 1, *COUPONS_WORKER, env=sweeps) as [worker]:
        wait_for(db, "SELECT status::text FROM coupons WHERE code = 'CLOSED'", "EXPIRED")
        wait_for(db, "SELECT string_agg(subject, ',') FROM guess_counters", "user:new")
        # and is told to stop
        assert worker.stop() == 0, worker.log()

    # then the closed coupon was written EXPIRED and nothing else, by the worker's jobs
    assert statuses(db) == {"CLOSED": "EXPIRED", "OPEN": "ACTIVE"}
    done = {row["task_name"] for row in db.fetch("SELECT task_name FROM procrastinate_jobs")}
    assert {"expire_coupons", "forget_guess_windows"} <= done
    assert done <= {
        "expire_coupons",
        "forget_guess_windows",
        "expire_reservations",
        "start_generation_jobs",
        "forget_finished_jobs",
        "deliver_webhooks",
        "forget_old_events",
    }
    # and it left the database as a worker that stopped, not one that died
    assert db.value(WORKERS) == 0
    assert db.value("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'") == 0


def test_two_workers_run_a_chore_once_per_period_and_never_two_runs_at_once(db, url):
    # given two workers, each deferring a chore every second that takes 1.2 s
    with worker_processes(url, 2, *TEST_TASKS_WORKER, "--periodic") as workers:
        wait_for_workers(db, workers)
        # when they have run it three times
        three_ended = "SELECT count(*) >= 3 FROM background_runs WHERE ended_at IS NOT NULL"
        wait_for(db, three_ended, True, timeout=15)
        for worker in workers:
            assert worker.stop() == 0, worker.log()

    runs = db.fetch("SELECT key, started_at, ended_at FROM background_runs ORDER BY started_at")
    # then no period ran twice
    periods = [run["key"] for run in runs]
    assert len(periods) == len(set(periods)), periods
    # and each run ended before the next started, whichever worker ran it
    assert all(run["ended_at"] is not None for run in runs)
    for before, after in itertools.pairwise(runs):
        assert before["ended_at"] <= after["started_at"], (before, after)


def test_deferred_jobs_run_once_each_with_two_workers(db, url):
    # given two workers
    with worker_processes(url, 2) as workers:
        wait_for_workers(db, workers)
        # when twenty jobs are deferred at once
        ids = defer_jobs(url, *(record_job(f"job-{n}") for n in range(20)))
        wait_for(db, ENDED_RUNS, 20)
        time.sleep(0.5)  # room for a second run of any of them, were there to be one
        for worker in workers:
            assert worker.stop() == 0, worker.log()

    # then each ran once
    assert None not in ids
    runs = dict(db.fetch("SELECT key, count(*) FROM background_runs GROUP BY key"))
    assert runs == {f"job-{n}": 1 for n in range(20)}
    succeeded = (
        "SELECT count(*) FROM procrastinate_jobs"
        " WHERE task_name = 'record_job' AND status = 'succeeded'"
    )
    assert db.value(succeeded) == 20


def test_for_one_key_one_job_runs_and_one_waits_its_turn(db, url):
    # given two idle workers and a job for key K running on one of them
    with worker_processes(url, 2) as workers:
        wait_for_workers(db, workers)
        [first] = defer_jobs(url, record_job("K", seconds=1.0))
        wait_for(db, "SELECT count(*) FROM background_runs", 1)
        # when K is deferred twice more while it runs
        second, third = defer_jobs(url, record_job("K"), record_job("K"))
        wait_for(db, ENDED_RUNS, 2)
        for worker in workers:
            assert worker.stop() == 0, worker.log()

    # then the second waited for the first, though a worker was free, and the third was refused
    assert first is not None
    assert second is not None
    assert third is None
    [one, two] = db.fetch("SELECT started_at, ended_at FROM background_runs ORDER BY started_at")
    assert one["ended_at"] <= two["started_at"]


def test_a_job_whose_worker_is_killed_is_run_again_by_the_other(db, url):
    # given two workers, one of them running a job whose first attempt would take a minute
    with worker_processes(url, 2) as workers:
        wait_for_workers(db, workers)
        [job_id] = defer_jobs(url, record_job("K", seconds=0.1, first_run_seconds=60))
        wait_for(db, "SELECT count(*) FROM background_runs", 1)
        runner_pid = db.value("SELECT pid FROM background_runs")
        [runner] = [worker for worker in workers if worker.pid == runner_pid]
        [other] = [worker for worker in workers if worker is not runner]

        # when that worker is killed
        runner.process.kill()
        runner.process.wait()

        # then the other runs the job again, and it completes
        wait_for(db, JOB_STATUS, "succeeded", job_id, timeout=10)
        assert other.stop() == 0, other.log()

    runs = db.fetch("SELECT pid, attempt, ended_at FROM background_runs ORDER BY started_at")
    assert [(run["pid"], run["attempt"], run["ended_at"] is not None) for run in runs] == [
        (runner.pid, 0, False),
        (other.pid, 1, True),
    ]


def test_a_chore_whose_worker_is_killed_mid_run_goes_on_in_the_other(db, url):
    # given two workers with a chore every second that takes 1.2 s, one of them running it
    with worker_processes(url, 2, *TEST_TASKS_WORKER, "--periodic") as workers:
        wait_for_workers(db, workers)
        wait_for(db, "SELECT count(*) FROM background_runs WHERE ended_at IS NULL", 1)
        killed = db.fetch("SELECT key, pid, started_at FROM background_runs")[0]
        [runner] = [worker for worker in workers if worker.pid == killed["pid"]]
        [other] = [worker for worker in workers if worker is not runner]

        # when that worker is killed mid-run (so its run holds the chore's lock, and the
        # next period's job waits for it)
        runner.process.kill()
        runner.process.wait()

        # then the other worker goes on running the chore
        later_runs = (
            "SELECT count(*) >= 2 FROM background_runs"
            " WHERE pid = $1 AND ended_at IS NOT NULL AND started_at > $2"
        )
        wait_for(db, later_runs, True, other.pid, killed["started_at"], timeout=10)
        assert other.stop() == 0, other.log()
        given_up = "given up: another for its lock waits" in other.log()

    # and the killed run was given up, not left holding the lock
    assert db.value("SELECT ended_at FROM background_runs WHERE key = $1", killed["key"]) is None
    killed_job = (
        "SELECT status::text FROM procrastinate_jobs"
        " WHERE task_name = 'record_period' AND args->>'timestamp' = $1"
    )
    assert db.value(killed_job, killed["key"]) == "failed"
    assert given_up


def test_a_worker_whose_connections_are_cut_goes_on_working(db, url):
    # given a worker that has run a job
    with worker_processes(url, 1) as [worker]:
        wait_for_workers(db, [worker])
        [before] = defer_jobs(url, record_job("before"))
        wait_for(db, JOB_STATUS, "succeeded", before)

        # when the database cuts every connection it has (a restart, a failover)
        cut = db.value(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'coupons-worker' AND datname = current_database()"
        )
        assert cut >= 1

        # then it runs the next job all the same, and still stops cleanly
        [after] = defer_jobs(url, record_job("after"))
        wait_for(db, JOB_STATUS, "succeeded", after)
        assert worker.stop() == 0, worker.log()


def test_serve_runs_one_worker_beside_its_web_workers_and_stops_it_with_itself(db, url):
    # given a coupon stored ACTIVE past its window
    insert_coupon(db, "CLOSED", closed=True)
    env = {"DATABASE_URL": url, "COUPONS_EXPIRY_SWEEP_SECONDS": "1", **FAST}

    # when serve runs with two web workers and the sweep every second
    with process_server(env, "--workers", "2") as server:
        # then, with no request made, the coupon is written EXPIRED
        wait_for(db, "SELECT status::text FROM coupons WHERE code = 'CLOSED'", "EXPIRED")
        # by one background worker
        assert db.value(WORKERS) == 1

        # and when serve is stopped, the worker goes with it, cleanly
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=40) == 0
    assert db.value(WORKERS) == 0


def test_serve_with_background_worker_false_runs_no_worker(db, url):
    # given a coupon stored ACTIVE past its window
    insert_coupon(db, "CLOSED", closed=True)
    env = {
        "DATABASE_URL": url,
        "COUPONS_EXPIRY_SWEEP_SECONDS": "1",
        "COUPONS_BACKGROUND_WORKER": "false",
    }

    # when serve runs without a background worker for longer than a sweep's period
    with process_server(env) as server:
        time.sleep(2)
        # then no worker ran, and the coupon is still stored ACTIVE
        assert db.value(WORKERS) == 0
        assert statuses(db) == {"CLOSED": "ACTIVE"}
        assert any("no background worker" in line for line in server.log_lines())


def test_a_killed_serve_takes_its_worker_along(db, url, tmp_path):
    # given serve running its background worker (a temporary folder of its own: killed, it
    # leaves its metrics directory behind)
    with process_server({"DATABASE_URL": url, "TMPDIR": str(tmp_path), **FAST}) as server:
        wait_for(db, WORKERS, 1)

        # when serve is killed, with no chance to stop the worker
        server.process.kill()
        server.process.wait()

        # then the worker notices, and stops as cleanly as if it had been told to
        wait_for(db, WORKERS, 0, timeout=10)


def test_a_serve_killed_while_its_worker_starts_takes_it_along(url, tmp_path):
    # given serve, up to the moment its background worker process exists
    env = {"DATABASE_URL": url, "TMPDIR": str(tmp_path)}
    with process_server(env, wait=False) as server:
        worker = wait_for_background_process(server.process.pid)

        # when serve is killed before the worker is running (it is still starting Python)
        server.process.kill()
        server.process.wait()

        # then the worker leaves all the same
        worker.wait(timeout=15)


def wait_for_background_process(serve_pid: int, timeout: float = 30) -> psutil.Process:
    """serve's background worker process, as soon as it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(serve_pid).children():
            if "graphql_api.background" in child.cmdline():
                return child
        time.sleep(0.01)
    raise AssertionError(f"serve {serve_pid} started no background worker in {timeout} s")
