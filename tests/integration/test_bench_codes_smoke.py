"""The codes benchmark still runs and reports well-formed, exact figures (not how fast)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.servers import REPO


def test_the_codes_benchmark_reports_generation_export_and_import(database_url, tmp_path):
    # when a small run of it goes through
    out = tmp_path / "codes.json"
    subprocess.run(  # noqa: S603
        [sys.executable, str(REPO / "bench" / "codes.py"), "--count", "3000", "--json", str(out)],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
        timeout=300,
    )
    figures = json.loads(out.read_text())
    # then every part ran, exactly, and was timed and weighed
    generation, export, imported = figures["generation"], figures["export"], figures["import"]
    assert generation["exact"] is True
    assert generation["codes_per_second"] > 0
    assert 0 < generation["worker_rss_mb"]["before"] <= generation["worker_rss_mb"]["peak"]
    assert export["exact"] is True
    assert export["rows"] == 3000
    assert export["http_first_byte_ms"] > 0
    assert export["cli_rows_per_second"] > 0
    assert imported["codes"] == 3000
    assert imported["codes_per_second"] > 0
    assert imported["peak_rss_mb"] > 0
