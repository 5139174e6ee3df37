"""What COUPONS_TRACING costs: the same requests to the same database, traced and not.

    .venv/bin/python bench/tracing_cost.py [--rounds 4] [--seconds 10]

Three `coupons serve` (production mode, as bench/run.py starts them, without a background
worker) on one seeded database: tracing off; on, every request sampled; and on with
OTEL_TRACES_SAMPLER=parentbased_traceidratio at 0.1. The traced ones export to
bench/receiver.py (it answers every POST at once and keeps nothing), on this machine: its
share of the CPU is counted against them, as a collector on the same host would be. W1
(couponByCode, the compiled path: three spans a request) and W5 (the nested list, GraphQL
execution: a span per resolver, over a hundred a request). Each round measures every
service in turns whose order rotates; the geometric mean of the rounds' ratios to "off"
is the answer, so drift falls on all alike.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, from anywhere

from bench.run import (
    FULL,
    _execute,
    dsn,
    figures,
    free_port,
    require_tools,
    seed,
    start_receiver,
    start_service,
    stop_process,
    wrk,
)

WORKLOADS = {"W1": "read", "W5": "nested"}


def variants(collector: str) -> dict[str, dict[str, str]]:
    traced = {"COUPONS_TRACING": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": collector}
    return {
        "off": {},
        "on": traced,
        "on, 10% sampled": {
            **traced,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
    }


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """os.environ with `values`, for start_service, which hands it to the service."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure(admin_url: str, rounds: int, seconds: int) -> dict[str, Any]:
    require_tools()
    from db.migrate import upgrade_to_head

    profile = FULL
    name = f"coupons_tracing_cost_{secrets.token_hex(3)}"
    admin = dsn(admin_url)
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}"'))
    url = dsn(admin_url, name)
    receiver = start_receiver()
    collector = receiver.url.removesuffix("/hooks")
    services: dict[str, tuple[Any, int]] = {}
    found: dict[str, dict[str, list[float]]] = {
        part: {variant: [] for variant in variants(collector)} for part in WORKLOADS
    }
    try:
        with tempfile.TemporaryDirectory() as logs:
            upgrade_to_head(url)
            asyncio.run(seed(url, profile))
            for variant, env in variants(collector).items():
                port = free_port()
                log = Path(logs) / f"serve-{len(services)}.log"
                with environment({"COUPONS_BACKGROUND_WORKER": "false", **env}):
                    services[variant] = (start_service(url, port, profile, log), port)
                for kind in WORKLOADS.values():
                    wrk(port, kind, profile.warmup, profile.connections, "warmup")
            for number in range(rounds):
                order = list(services)
                order = order[number % len(order) :] + order[: number % len(order)]
                for part, kind in WORKLOADS.items():
                    for variant in order:
                        port = services[variant][1]
                        raw = wrk(port, kind, seconds, profile.connections, f"{part}{number}")
                        found[part][variant].append(figures(part, raw).requests_per_second)
    finally:
        for process, _ in services.values():
            process.send_signal(signal.SIGTERM)
        for process, _ in services.values():
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
        stop_process(receiver.process)
        asyncio.run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    summary: dict[str, Any] = {}
    for part, by_variant in found.items():
        off = by_variant["off"]
        summary[part] = {
            "rounds": by_variant,
            "median": {variant: statistics.median(v) for variant, v in by_variant.items()},
            "over_off": {
                variant: round(
                    statistics.geometric_mean(a / b for a, b in zip(v, off, strict=True)), 3
                )
                for variant, v in by_variant.items()
            },
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    started = time.monotonic()
    summary = measure(admin_url, args.rounds, args.seconds)
    for part, numbers in summary.items():
        print(
            f"{part}: "
            + "; ".join(
                f"{variant} {numbers['median'][variant]:.0f} req/s "
                f"({', '.join(f'{v:.0f}' for v in rates)}) x{numbers['over_off'][variant]}"
                for variant, rates in numbers["rounds"].items()
            )
        )
    print(f"({time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
