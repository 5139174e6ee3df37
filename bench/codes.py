"""Codes at scale: generation, import and export of a million codes, timed and weighed.

    .venv/bin/python bench/codes.py                  # 1,000,000 codes (a few minutes)
    .venv/bin/python bench/codes.py --count 50000    # quicker

Runs the service as production runs it (`coupons serve`, its background worker, API keys)
on a database of its own made on DATABASE_URL's server (default
postgresql://postgres@127.0.0.1:5432/postgres) and dropped afterwards:

- generation: `generateCodes` through the API, written by the background worker; rate
  from the job's own start and finish, the worker's memory sampled as it runs;
- import: `coupons import-codes` of a file of `--count` lines, its peak memory;
- export: `GET /exports/codes.csv` streamed (time to the first byte, rows a second), and
  `coupons export codes` to /dev/null.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

# Run as a script from anywhere: the repository's packages come first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import ADMIN_KEY, REPO, dsn, free_port, start_service
from bench.run import FULL as PROFILE
from graphql_api.domain.codes import draw_codes

CREATE = """
mutation ($name: String!) {
  createCampaign(input: {name: $name, discountType: FIXED, discountValue: "5"}) {
    campaign { id } errors { code message }
  }
}"""
GENERATE = """
mutation ($campaign: ID!, $count: Int!) {
  generateCodes(input: {campaignId: $campaign, count: $count, prefix: "GEN-"}) {
    job { id } errors { code message }
  }
}"""
JOB = "query ($id: ID!) { codeGenerationJob(id: $id) { status generated error } }"


def graphql(port: int, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=30,
    )
    body = answer.json()
    if body.get("errors"):
        raise SystemExit(f"bench: {body['errors']}")
    return dict(body["data"])


def background_worker(serve: subprocess.Popen[bytes]) -> psutil.Process:
    for child in psutil.Process(serve.pid).children(recursive=True):
        if "graphql_api.background" in " ".join(child.cmdline()):
            return child
    raise SystemExit("bench: serve runs no background worker")


def rss_mb(process: psutil.Process) -> float:
    return round(float(process.memory_info().rss) / 2**20, 1)


def generation(port: int, serve: subprocess.Popen[bytes], count: int, url: str) -> dict[str, Any]:
    campaign = graphql(port, CREATE, {"name": "Generated"})["createCampaign"]["campaign"]["id"]
    worker = background_worker(serve)
    samples = [(0, rss_mb(worker))]
    started = time.monotonic()
    job = graphql(port, GENERATE, {"campaign": campaign, "count": count})["generateCodes"]["job"]
    while True:
        state = graphql(port, JOB, {"id": job["id"]})["codeGenerationJob"]
        samples.append((state["generated"], rss_mb(worker)))
        if state["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.5)
    wall = time.monotonic() - started
    if state["status"] != "SUCCEEDED":
        raise SystemExit(f"bench: generation failed: {state['error']}")
    row = asyncio.run(
        _fetch(
            url,
            """SELECT extract(epoch FROM j.finished_at - j.started_at) AS seconds,
                      (SELECT count(*) FROM coupons c WHERE c.campaign_id = j.campaign_id) AS codes,
                      (SELECT count(DISTINCT code) FROM coupons c
                        WHERE c.campaign_id = j.campaign_id) AS distinct_codes
               FROM code_generation_jobs j WHERE j.id = $1""",
            job["id"],
        )
    )
    progress = sorted({generated for generated, _ in samples})
    return {
        "campaign": campaign,
        "codes": count,
        "seconds_writing": round(float(row["seconds"]), 2),
        "codes_per_second": round(count / float(row["seconds"])),
        "seconds_from_the_mutation": round(wall, 2),
        "exact": row["codes"] == row["distinct_codes"] == count,
        "progress_samples": len(progress),
        "worker_rss_mb": {
            "before": samples[0][1],
            "peak": max(rss for _, rss in samples),
            "after": samples[-1][1],
        },
    }


async def _fetch(url: str, sql: str, *args: Any) -> asyncpg.Record:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchrow(sql, *args)
    finally:
        await connection.close()


PEAK_RSS = """
import resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.monotonic() - started
print(done.returncode, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr.decode()[-2000:])
"""


def timed_command(url: str, *args: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `coupons` command, which must succeed."""
    env = {**os.environ, "DATABASE_URL": url, "COUPONS_LOG_LEVEL": "WARNING"}
    measured = subprocess.run(  # our own command line
        [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "graphql_api", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    status, seconds, peak_kb = measured.stdout.split()
    if status not in ("0", "3"):
        raise SystemExit(f"bench: coupons {args[0]} failed: {measured.stderr}")
    return float(seconds), round(int(peak_kb) / 1024, 1)


def importing(port: int, url: str, count: int, folder: Path) -> dict[str, Any]:
    campaign = graphql(port, CREATE, {"name": "Imported"})["createCampaign"]["campaign"]["id"]
    file = folder / "codes.txt"
    with file.open("w") as out:
        for start in range(0, count, 10_000):
            out.write("\n".join(draw_codes("IMP-", 12, min(10_000, count - start))) + "\n")
    seconds, peak = timed_command(url, "import-codes", "--campaign", campaign, str(file))
    return {
        "codes": count,
        "seconds": round(seconds, 2),
        "codes_per_second": round(count / seconds),
        "peak_rss_mb": peak,
    }


def exporting(port: int, url: str, campaign: str, count: int) -> dict[str, Any]:
    started = time.monotonic()
    first_byte = None
    rows = -1  # the header
    with httpx.stream(
        "GET",
        f"http://127.0.0.1:{port}/exports/codes.csv",
        params={"campaignId": campaign},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=600,
    ) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_bytes():
            if first_byte is None:
                first_byte = time.monotonic() - started
            rows += chunk.count(b"\n")
    seconds = time.monotonic() - started
    cli_seconds, cli_peak = timed_command(url, "export", "codes", "--campaign", campaign)
    return {
        "rows": rows,
        "exact": rows == count,
        "http_first_byte_ms": round(1000 * (first_byte or 0), 1),
        "http_seconds": round(seconds, 2),
        "http_rows_per_second": round(rows / seconds),
        "cli_seconds": round(cli_seconds, 2),
        "cli_rows_per_second": round(count / cli_seconds),
        "cli_peak_rss_mb": cli_peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"coupons_codes_bench_{secrets.token_hex(4)}"
    url = dsn(admin_url, name)
    asyncio.run(_admin(admin_url, f"CREATE DATABASE {name}"))
    port = free_port()
    result: dict[str, Any] = {"count": args.count, "cores": os.cpu_count()}
    try:
        with tempfile.TemporaryDirectory(prefix="coupons-bench-") as folder:
            serve = start_service(url, port, PROFILE, Path(folder) / "serve.log")
            try:
                result["generation"] = generation(port, serve, args.count, url)
                result["export"] = exporting(
                    port, url, result["generation"]["campaign"], args.count
                )
                result["import"] = importing(port, url, args.count, Path(folder))
            finally:
                serve.terminate()
                serve.wait(timeout=60)
    finally:
        asyncio.run(_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
