"""`coupons serve` with no DATABASE_URL: a real PostgreSQL of its own, kept across restarts."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.servers import ProcessServer, process_server, run_coupons, wait_for_server

CREATE = """mutation { createTimedCoupon(input: {code: "EMBEDDED", discountType: FIXED,
  discountValue: "5", validFrom: "2020-01-01", validUntil: "2100-01-01", maxUsesPerUser: 1}) {
  coupon { code } errors { code } } }"""
LOOKUP = '{ couponByCode(code: "embedded") { code discountValue } }'


def post(base_url: str, query: str) -> dict:
    response = httpx.post(f"{base_url}/graphql", json={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def test_embedded_database_starts_keeps_data_and_stops(tmp_path):
    env = {"COUPONS_DATA_DIR": str(tmp_path / "data")}
    pgdata = tmp_path / "data" / "pgdata"

    # given a first run that creates a coupon
    with process_server(env, unset=("DATABASE_URL",)) as server:
        assert post(server.base_url, CREATE)["data"]["createTimedCoupon"]["errors"] == []
        assert (pgdata / "postmaster.pid").exists()
        # when it is asked to stop
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=40) == 0
    # then the embedded server stopped with it
    assert not (pgdata / "postmaster.pid").exists()

    # and a second run finds the coupon again
    with process_server(env, unset=("DATABASE_URL",)) as server:
        assert post(server.base_url, LOOKUP)["data"]["couponByCode"] == {
            "code": "EMBEDDED",
            "discountValue": "5.00",
        }


# One data directory, several processes: none stops the database under another; the last one
# to leave stops it.


def healthy(server: ProcessServer) -> bool:
    return httpx.get(f"{server.base_url}/health", timeout=10).status_code == 200


def postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def gone(pid: int, timeout: float = 10) -> bool:
    """Whether the process exits within the timeout (a zombie waiting to be reaped has)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> Iterator[tuple[ProcessServer, dict[str, str]]]:
    """A serve on an embedded database, and the environment that points at its directory."""
    env = {"COUPONS_DATA_DIR": str(tmp_path_factory.mktemp("shared") / "data")}
    with process_server(env, unset=("DATABASE_URL",)) as server:
        assert post(server.base_url, CREATE)["data"]["createTimedCoupon"]["errors"] == []
        yield server, env


def test_a_second_serve_on_a_busy_port_says_so_in_one_line_and_the_first_keeps_serving(first):
    server, env = first
    port = server.base_url.rsplit(":", 1)[1]

    # when the same command is run again
    second = run_coupons(env, "serve", "--port", port, unset=("DATABASE_URL",))

    # then it fails in one line
    output = second.stdout + second.stderr
    assert second.returncode != 0
    assert output.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
        " (is another coupons serve running there?)"
    ]
    # and the first still answers from its database
    assert healthy(server)
    assert post(server.base_url, LOOKUP)["data"]["couponByCode"]["code"] == "EMBEDDED"


def test_migrate_beside_a_running_serve_leaves_it_serving(first):
    server, env = first

    # when
    migrated = run_coupons(env, "migrate", unset=("DATABASE_URL",))

    # then
    assert migrated.returncode == 0, migrated.stderr
    assert "database is at the newest schema" in migrated.stderr
    assert healthy(server)
    assert post(server.base_url, LOOKUP)["data"]["couponByCode"]["code"] == "EMBEDDED"


def test_serves_on_one_data_dir_share_its_database_and_the_last_to_leave_stops_it(tmp_path):
    env = {"COUPONS_DATA_DIR": str(tmp_path / "data")}
    pgdata = tmp_path / "data" / "pgdata"
    with ExitStack() as stack:
        # given two serves started together on a fresh directory
        a, b = (
            stack.enter_context(process_server(env, unset=("DATABASE_URL",), wait=False))
            for _ in range(2)
        )
        wait_for_server(a)
        wait_for_server(b)
        assert post(a.base_url, CREATE)["data"]["createTimedCoupon"]["errors"] == []
        assert post(b.base_url, LOOKUP)["data"]["couponByCode"]["code"] == "EMBEDDED"
        postmaster = postmaster_pid(pgdata)
        assert postmaster is not None

        # when one stops
        a.process.send_signal(signal.SIGTERM)
        assert a.process.wait(timeout=40) == 0
        # then the other keeps serving from the same database
        assert healthy(b)
        assert post(b.base_url, LOOKUP)["data"]["couponByCode"]["code"] == "EMBEDDED"
        assert postmaster_pid(pgdata) == postmaster

        # when a third joins and is killed, with no chance to say goodbye
        metrics = tmp_path / "metrics-c"  # it cannot remove a directory of its own
        metrics.mkdir()
        c = stack.enter_context(
            process_server(
                {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}, unset=("DATABASE_URL",)
            )
        )
        c.process.kill()
        c.process.wait(timeout=10)
        # then the other still serves
        assert healthy(b)

        # and when the last one still alive stops, the database stops with it
        b.process.send_signal(signal.SIGTERM)
        assert b.process.wait(timeout=40) == 0
    assert postmaster_pid(pgdata) is None
    assert gone(postmaster)


@pytest.mark.parametrize("command", [("migrate",), ("serve", "--port", "0")], ids=lambda c: c[0])
def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path, command):
    # given a data directory that would have to live inside a file
    (tmp_path / "a-file").write_text("")
    data_dir = tmp_path.resolve() / "a-file" / "data"
    env = {"COUPONS_DATA_DIR": str(data_dir)}

    # when
    finished = run_coupons(env, *command, unset=("DATABASE_URL",))

    # then
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert output.strip().splitlines() == [
        f"Error: cannot start the embedded PostgreSQL in {data_dir}:"
        f" [Errno 20] Not a directory: '{data_dir}'"
    ]
