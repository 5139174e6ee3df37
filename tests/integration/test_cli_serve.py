"""`coupons serve` takes its port before anything else, and leaves no temporary files."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import process_server, run_coupons


def test_a_busy_port_fails_at_once_in_one_line_without_touching_the_database(tmp_path):
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        # given a port someone else listens on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()

        # when serve is asked for it (with an embedded database it would have to start)
        finished = run_coupons(
            {"COUPONS_DATA_DIR": str(data_dir)},
            "serve",
            "--port",
            str(port),
            unset=("DATABASE_URL",),
        )

    # then it says so in one line, and soon
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert output.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
        " (is another coupons serve running there?)"
    ]
    assert time.monotonic() - started < 15
    # and it never started a database (nor said it was serving)
    assert not data_dir.exists()


def metrics_dirs(tmp: Path) -> list[str]:
    return sorted(entry.name for entry in tmp.glob("coupons-*"))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_removes_its_metrics_directory_on_sigterm(database_url, tmp_path, workers):
    # given serve's own temporary folder, so that its directory is easy to find
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"DATABASE_URL": database_url, "TMPDIR": str(tmp)}
    with process_server(env, "--workers", workers, unset=("PROMETHEUS_MULTIPROC_DIR",)) as server:
        httpx.post(f"{server.base_url}/graphql", json={"query": "{ __typename }"}, timeout=10)
        # then while it runs, its workers write their metrics in a directory of its own
        [created] = metrics_dirs(tmp)
        assert created.startswith("coupons-metrics-")
        assert list((tmp / created).glob("*.db"))

        # when it is stopped
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=40) == 0

    # then the directory went with it
    assert metrics_dirs(tmp) == []


def test_a_metrics_directory_the_caller_names_is_used_and_kept(database_url, tmp_path):
    # given
    tmp, metrics = tmp_path / "tmp", tmp_path / "metrics"
    tmp.mkdir()
    metrics.mkdir()
    env = {
        "DATABASE_URL": database_url,
        "TMPDIR": str(tmp),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    with process_server(env, "--workers", "2") as server:
        httpx.post(f"{server.base_url}/graphql", json={"query": "{ __typename }"}, timeout=10)

        # when
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=40) == 0

    # then serve used the caller's directory, made none of its own, and left it in place
    assert list(metrics.glob("*.db"))
    assert metrics_dirs(tmp) == []
