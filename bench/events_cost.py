"""What writing events costs a redemption: the same service and database, with and without.

    .venv/bin/python bench/events_cost.py [--rounds 6] [--seconds 10]

One `coupons serve` (production mode, as bench/run.py starts it) on one seeded database.
Between turns the database's `coupon_redeem` is swapped for the one before events
(migrations/versions/0005_functions/) and back: the service, its connections, the data
and the machine's other load stay the same, only the event (and the worker's numbering of
it) comes and goes. Each round measures both, in turns whose order alternates, and the
geometric mean of the rounds' ratios is the answer: drift and the order fall on both
alike. Before each turn the worker has numbered every event of the last one. W2 (one hot
coupon) and W3 (1,000 coupons) through HTTP, and the database's own limit on the hot
coupon (pgbench, 4 clients).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, from anywhere

from bench.run import (
    FULL,
    REPO,
    _execute,
    dsn,
    figures,
    free_port,
    pgbench,
    require_tools,
    seed,
    start_service,
    wrk,
)

VARIANTS = {
    "with events": REPO / "db" / "sql" / "coupon_redeem.sql",
    "without": REPO / "migrations" / "versions" / "0005_functions" / "coupon_redeem.sql",
}


def measure(admin_url: str, rounds: int, seconds: int) -> dict[str, Any]:
    require_tools()
    from db.migrate import upgrade_to_head

    profile = FULL
    tag = str(int(time.time()))
    name = f"coupons_events_cost_{secrets.token_hex(3)}"
    admin = dsn(admin_url)
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}"'))
    url = dsn(admin_url, name)
    process = None
    found: dict[str, dict[str, list[float]]] = {
        part: {variant: [] for variant in VARIANTS} for part in ("W2", "W3", "hot_row_tps")
    }
    try:
        with tempfile.TemporaryDirectory() as logs:
            upgrade_to_head(url)
            asyncio.run(seed(url, profile))
            port = free_port()
            process = start_service(url, port, profile, Path(logs) / "serve.log")
            for kind in ("hot", "spread"):
                wrk(port, kind, profile.warmup, profile.connections, f"{tag}w{kind}")
            for part, kind in (("W2", "hot"), ("W3", "spread"), ("hot_row_tps", "pgbench")):
                for number in range(rounds):
                    variants = list(VARIANTS) if number % 2 == 0 else list(reversed(VARIANTS))
                    for variant in variants:
                        asyncio.run(_execute(url, VARIANTS[variant].read_text()))
                        asyncio.run(_numbered(url))  # the last turn's events are no load here
                        turn = f"{tag}{part}{number}{variant[0]}"  # order ids never repeat
                        if kind == "pgbench":
                            rate = pgbench(url, "redeem_hot.sql", seconds, 4, turn, 1)
                        else:
                            raw = wrk(port, kind, seconds, profile.connections, turn)
                            rate = figures(part, raw).requests_per_second
                        found[part][variant].append(rate)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    summary: dict[str, Any] = {}
    for part, by_variant in found.items():
        # Each round's pair, with over without; an even number of rounds has each variant
        # first as often, so what the order does falls out of the geometric mean.
        ratios = [
            with_ / without
            for with_, without in zip(by_variant["with events"], by_variant["without"], strict=True)
        ]
        summary[part] = {
            "rounds": by_variant,
            "median": {variant: statistics.median(v) for variant, v in by_variant.items()},
            "with_over_without": round(statistics.geometric_mean(ratios), 3),
        }
    return summary


async def _numbered(url: str, most_seconds: float = 120) -> None:
    """Until the worker has numbered every event (a turn with events leaves a backlog)."""
    connection = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + most_seconds
        while await connection.fetchval("SELECT count(*) FROM events WHERE position IS NULL"):
            if time.monotonic() > deadline:
                sys.exit("bench: the worker did not number the events")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6, help="an even number")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    summary = measure(admin_url, args.rounds, args.seconds)
    for part, numbers in summary.items():
        rounds = numbers["rounds"]
        print(
            f"{part}: with events {numbers['median']['with events']:.0f} "
            f"({', '.join(f'{v:.0f}' for v in rounds['with events'])}), without "
            f"{numbers['median']['without']:.0f} "
            f"({', '.join(f'{v:.0f}' for v in rounds['without'])}): "
            f"with / without = {numbers['with_over_without']}"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
