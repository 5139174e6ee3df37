"""The benchmark harness still runs and reports well-formed figures (not how fast)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.support.servers import REPO

pytestmark = pytest.mark.skipif(
    shutil.which("wrk") is None or shutil.which("pgbench") is None,
    reason="the benchmark needs wrk and pgbench (apt-get install wrk postgresql-client)",
)


def test_the_benchmark_smoke_run_reports_every_workload(database_url, tmp_path):
    # when
    out = tmp_path / "figures.json"
    subprocess.run(  # noqa: S603
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--json", str(out)],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
        timeout=300,
    )
    figures = json.loads(out.read_text())

    # then: PostgreSQL's own limits were measured
    assert figures["limits"]["hot_row_tps"] > 0
    assert figures["limits"]["spread_tps"] > 0
    # and every workload ran, answered, and was compared with them
    names = [w["name"][:2] for w in figures["workloads"]]
    assert names == ["W1", "W5", "W2", "W3", "W6"]
    for workload in figures["workloads"]:
        assert workload["requests_per_second"] > 0
        assert 0 < workload["p50_ms"] <= workload["p99_ms"]
        assert workload["ok"] > 0
        assert workload["errors"] == 0
    by_name = {w["name"][:2]: w for w in figures["workloads"]}
    # the nested query costs what it needs, whatever its size: the campaigns' page, their
    # count, and one page of usages for all of them (a usage count is a column)
    assert by_name["W5"]["extra"]["sql_statements"] == 3
    assert by_name["W2"]["extra"]["count_equals_usage_rows"] is True
    # wrk stops without reading the answers in flight: at most one per connection was
    # counted without its OK being read, and no OK answer went uncounted
    in_flight = by_name["W2"]["extra"]["unanswered_in_flight"]
    assert 0 <= in_flight <= figures["profile"]["connections"]
    assert by_name["W2"]["extra"]["ratio_to_limit"] > 0
    assert by_name["W3"]["extra"]["ratio_to_limit"] > 0
    # W6's receiver got a delivery of every redemption made while it listened
    assert by_name["W6"]["extra"]["every_event_delivered"] is True
    assert by_name["W6"]["extra"]["delivered_during_load_per_s"] >= 0
    # and the memory of every worker was read
    assert len(figures["worker_rss_mb"]) == figures["profile"]["workers"]
    assert all(rss > 0 for rss in figures["worker_rss_mb"])
