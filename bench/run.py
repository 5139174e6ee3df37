"""The benchmark: the service as production runs it, driven by wrk, against PostgreSQL's own
limit measured by pgbench with the same redemption function.

    .venv/bin/python bench/run.py            # the full run (a few minutes)
    .venv/bin/python bench/run.py --smoke    # seconds, tiny data: the harness still works

Needs wrk and pgbench on PATH (Debian: `apt-get install wrk postgresql-client`; pgbench
ships with PostgreSQL's client or server package). Uses DATABASE_URL's server, default
postgresql://postgres@127.0.0.1:5432/postgres, where it makes and drops a database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from sqlalchemy import event
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
KEY = "bench-storefront-key"
ADMIN_KEY = "bench-admin-key"

NESTED_QUERY = (
    "query Nested { activeCampaigns(first: 50) { totalCount edges { node { code status "
    "usages(first: 5) { totalCount edges { node { orderId discountApplied usedAt } } } } } } }"
)


@dataclass
class Profile:
    seconds: int
    warmup: int
    connections: int
    pgbench_clients: int
    workers: int
    spread_coupons: int = 1000
    limit_coupons: int = 10_000
    nested_coupons: int = 50
    nested_usages: int = 5


FULL = Profile(
    seconds=15, warmup=3, connections=32, pgbench_clients=32, workers=os.cpu_count() or 2
)
SMOKE = Profile(
    seconds=1,
    warmup=0,
    connections=4,
    pgbench_clients=2,
    workers=1,
    spread_coupons=20,
    limit_coupons=50,
    nested_coupons=5,
    nested_usages=2,
)


@dataclass
class Figures:
    name: str
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    ok: int
    errors: int
    extra: dict[str, Any] = field(default_factory=dict)


def dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_tools() -> None:
    missing = [tool for tool in ("wrk", "pgbench") if shutil.which(tool) is None]
    if missing:
        sys.exit(
            f"bench: {', '.join(missing)} not found. Debian/Ubuntu: apt-get install wrk "
            "postgresql-client (pgbench comes with PostgreSQL's packages)"
        )


async def seed(url: str, profile: Profile) -> None:
    """Coupons for each workload, written directly: the benchmark measures reads and
    redemptions, not coupon creation."""
    connection = await asyncpg.connect(url)
    try:
        window = "now() - interval '1 day', now() + interval '1 year'"
        await connection.execute(
            f"""
            INSERT INTO coupons (code, type, discount_type, discount_value, valid_from,
                                 valid_until, max_uses_per_user, created_at)
            VALUES ('BENCH-HOT', 'TIME_SPECIFIC', 'PERCENTAGE', 10, {window}, 1000000,
                    now() - interval '1 hour');
            INSERT INTO coupons (code, type, discount_type, discount_value, valid_from,
                                 valid_until, max_uses_per_user, created_at)
            SELECT 'BENCH-S' || lpad(n::text, 4, '0'), 'TIME_SPECIFIC', 'FIXED', 5, {window},
                   1000000, now() - interval '1 hour'
            FROM generate_series(0, $1 - 1) AS n;
            """.replace("$1", str(profile.spread_coupons))
        )
        await connection.execute(
            f"""
            INSERT INTO coupons (code, type, discount_type, discount_value, valid_from,
                                 valid_until, max_uses_per_user, created_at)
            SELECT 'BENCH-P' || lpad(n::text, 5, '0'), 'TIME_SPECIFIC', 'FIXED', 5, {window},
                   1000000, now() - interval '1 hour'
            FROM generate_series(0, {profile.limit_coupons} - 1) AS n
            """
        )
        # W5: the newest campaigns, each with a few usages.
        await connection.execute(
            f"""
            INSERT INTO coupons (code, type, discount_type, discount_value, valid_from,
                                 valid_until, max_uses_per_user, current_total_uses)
            SELECT 'BENCH-N' || n, 'TIME_SPECIFIC', 'FIXED', 5, {window}, 100,
                   {profile.nested_usages}
            FROM generate_series(1, {profile.nested_coupons}) AS n
            """
        )
        await connection.execute(
            f"""
            INSERT INTO coupon_usages (coupon_id, user_id, order_id, order_value,
                                       discount_applied, final_amount)
            SELECT c.id, 'seed-' || k, c.code || '-' || k, 20, 5, 15
            FROM coupons c CROSS JOIN generate_series(1, {profile.nested_usages}) AS k
            WHERE c.code LIKE 'BENCH-N%'
            """
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def count_statements(database_url: str) -> int:
    """SQL statements the nested query costs, counted on the app's own engine in-process."""
    from graphql_api.app import create_app
    from graphql_api.settings import Settings

    app = create_app(Settings(database_url=database_url, log_level="WARNING"))
    statements: list[str] = []
    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await client.post("/graphql", json={"query": NESTED_QUERY})  # warm the caches
        statements.clear()
        response = await client.post("/graphql", json={"query": NESTED_QUERY})
        if response.status_code != 200 or "errors" in response.json():
            sys.exit(f"bench: the nested query failed: {response.text}")
    await app.state.engine.dispose()
    return len(statements)


def start_service(database_url: str, port: int, profile: Profile, log_path: Path) -> Any:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "COUPONS_ENV": "production",
        "COUPONS_API_KEYS": f"storefront:{KEY},admin:{ADMIN_KEY}",
        # W6's receiver listens on loopback.
        "COUPONS_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [
        sys.executable,
        "-m",
        "graphql_api",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(profile.workers),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()  # not kill: serve removes its temporary metrics directory on SIGTERM
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
    # The log's directory goes with the run: show what it says now.
    sys.exit("bench: the service did not start; its log:\n" + log_path.read_text(errors="replace"))


def wrk(port: int, workload: str, seconds: int, connections: int, run: str) -> dict[str, Any]:
    # Coupon.usages is admin-only: the nested workload is an admin's dashboard query.
    key = ADMIN_KEY if workload == "nested" else KEY
    env = {**os.environ, "BENCH_WORKLOAD": workload, "BENCH_RUN": run, "BENCH_KEY": key}
    if workload == "spread":
        env["BENCH_SPREAD"] = str(PROFILE.spread_coupons)
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk" / "graphql.lua"),
        f"http://127.0.0.1:{port}",
    ]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCH_JSON (.*)$", output, re.M)
    if match is None:
        sys.exit(f"bench: wrk printed no figures:\n{output}")
    result: dict[str, Any] = json.loads(match.group(1))
    return result


def pgbench(url: str, script: str, seconds: int, clients: int, run: str, coupons: int) -> float:
    """The script's transactions per second."""
    output = run_pgbench(url, script, seconds, clients, run, coupons)
    match = re.search(r"tps = ([\d.]+)", output)
    if match is None:
        sys.exit(f"bench: pgbench printed no tps:\n{output}")
    return float(match.group(1))


def statement_latencies_ms(
    url: str, script: str, seconds: int, clients: int, run: str, coupons: int
) -> list[float]:
    """The average latency of each SQL statement of the script, in order (pgbench -r)."""
    output = run_pgbench(url, script, seconds, clients, run, coupons, "-r")
    section = output.split("statement latencies in milliseconds", 1)[-1]
    return [float(line.split()[0]) for line in section.splitlines() if "SELECT" in line.upper()]


def run_pgbench(
    url: str, script: str, seconds: int, clients: int, run: str, coupons: int, *extra: str
) -> str:
    parsed = make_url(url)
    # An embedded server listens on a Unix socket, named in the URL's query.
    host = parsed.host or str(parsed.query.get("host") or "127.0.0.1")
    command = [
        "pgbench",
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        "2",
        "-T",
        str(seconds),
        "-D",
        f"run={run}",
        "-D",
        f"coupons={coupons}",
        "-f",
        str(BENCH / "pgbench" / script),
        "-h",
        host,
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
        parsed.database or "postgres",
    ]
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    output = subprocess.run(
        [*command[:1], *extra, *command[1:]], capture_output=True, text=True, env=env, check=True
    ).stdout
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if failed and int(failed.group(1)):
        sys.exit(f"bench: pgbench had failed transactions:\n{output}")
    return output


def figures(name: str, raw: dict[str, Any]) -> Figures:
    seconds = raw["duration_us"] / 1e6
    errors = raw["failed"] + raw["refused"] + raw["socket_errors"] + raw["non_2xx"]
    return Figures(
        name=name,
        requests_per_second=round(raw["requests"] / seconds, 1),
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        ok=raw["ok"],
        errors=errors,
    )


async def hot_growth(url: str, run: str) -> tuple[int, int]:
    """The hot coupon's count, and its usage rows written by this run's wrk requests."""
    connection = await asyncpg.connect(url)
    try:
        count = await connection.fetchval(
            "SELECT current_total_uses FROM coupons WHERE code = 'BENCH-HOT'"
        )
        rows = await connection.fetchval(
            "SELECT count(*) FROM coupon_usages u JOIN coupons c ON c.id = u.coupon_id"
            " WHERE c.code = 'BENCH-HOT' AND u.user_id LIKE $1",
            f"{run}-%",
        )
        return int(count), int(rows)
    finally:
        await connection.close()


async def hot_uses(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(
            await connection.fetchval(
                "SELECT current_total_uses FROM coupons WHERE code = 'BENCH-HOT'"
            )
        )
    finally:
        await connection.close()


def worker_rss_mb(process: Any) -> list[float]:
    parent = psutil.Process(process.pid)
    children = parent.children(recursive=True)
    # With several workers the parent only supervises; the workers, spawned by uvicorn, do
    # the work. Neither multiprocessing's resource tracker nor the background worker counts.
    spawned = [c for c in children if "multiprocessing.spawn" in " ".join(c.cmdline())]
    return [round(child.memory_info().rss / 2**20, 1) for child in spawned or [parent]]


@dataclass
class Receiver:
    process: Any
    url: str


def start_receiver() -> Receiver:
    """bench/receiver.py on a free port, answering 204 to every webhook."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(BENCH / "receiver.py"), str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Receiver(process, f"http://127.0.0.1:{port}/hooks")
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("bench: the webhook receiver did not start")


def stop_process(process: Any) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


async def register_endpoint(url: str, receiver_url: str) -> None:
    """An endpoint for redemption.succeeded, written directly (the API would refuse a
    loopback receiver without the setting, which only the worker has)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO webhook_endpoints (url, events, secret)"
            " VALUES ($1, ARRAY['redemption.succeeded'], $2)",
            receiver_url,
            "whsec_" + "QmVuY2htYXJrU2VjcmV0S2V5MDEyMzQ1Njc4OWFiY2Q=",
        )
    finally:
        await connection.close()


async def follow_deliveries(url: str, seconds: int) -> dict[str, Any]:
    """After W6's load: how many deliveries were made during it, the backlog it left, and
    how long that took to clear (every event delivered, checked against the events)."""
    connection = await asyncpg.connect(url)
    count = (
        "SELECT count(*) FILTER (WHERE state = 'DELIVERED'),"
        " count(*) FILTER (WHERE state = 'PENDING') FROM webhook_deliveries"
    )
    try:
        delivered, pending = await connection.fetchrow(count)
        started = time.monotonic()
        left = pending
        while time.monotonic() - started < 300:
            unnumbered = await connection.fetchval(
                "SELECT count(*) FROM events WHERE position IS NULL"
            )
            _, left = await connection.fetchrow(count)
            if left == 0 and unnumbered == 0:
                break
            await asyncio.sleep(0.2)
        drained = time.monotonic() - started
        total, _ = await connection.fetchrow(count)
        # Every event numbered once the endpoint was there has its delivery.
        events = await connection.fetchval(
            "SELECT count(*) FROM events WHERE type = 'redemption.succeeded'"
            " AND position >= (SELECT min(event_position) FROM webhook_deliveries)"
        )
        return {
            "delivered_during_load_per_s": round(delivered / seconds, 1),
            "backlog_at_end": pending,
            "seconds_to_clear_backlog": round(drained, 1),
            "every_event_delivered": total == events and left == 0,
        }
    finally:
        await connection.close()


def run_benchmark(admin_url: str, profile: Profile, only: set[str] | None = None) -> dict[str, Any]:
    require_tools()
    name = f"coupons_bench_{secrets.token_hex(4)}"
    run = str(int(time.time()))
    admin = dsn(admin_url)
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}"'))
    database_url = dsn(admin_url, name)
    log_dir = tempfile.TemporaryDirectory(prefix="coupons-bench-")
    log_path = Path(log_dir.name) / "serve.log"
    process = None
    stack = contextlib.ExitStack()
    try:
        from db.migrate import upgrade_to_head

        upgrade_to_head(database_url)
        asyncio.run(seed(database_url, profile))
        statements = asyncio.run(count_statements(database_url))
        port = free_port()
        process = start_service(database_url, port, profile, log_path)

        results: list[Figures] = []
        for label, workload in (
            ("W1 couponByCode, hot", "read"),
            ("W5 nested: 50 coupons with usages", "nested"),
            ("W2 redeemCoupon, one hot coupon", "hot"),
            ("W3 redeemCoupon, 1,000 coupons", "spread"),
            ("W6 W3 with a webhook receiver", "spread"),
        ):
            if only and label[:2] not in only:
                continue
            if profile.warmup:
                wrk(port, workload, profile.warmup, profile.connections, f"{run}0{label[:2]}")
                time.sleep(0.5)  # let the warm-up's unanswered requests finish
            before = asyncio.run(hot_uses(database_url))
            hooked = label.startswith("W6")
            if hooked:
                receiver = start_receiver()
                stack.callback(stop_process, receiver.process)
                asyncio.run(register_endpoint(database_url, receiver.url))
            tag = f"{run}{label[:2]}"  # order ids differ between workloads and runs
            raw = wrk(port, workload, profile.seconds, profile.connections, tag)
            result = figures(label, raw)
            if hooked:
                result.extra.update(asyncio.run(follow_deliveries(database_url, profile.seconds)))
            if workload == "hot":
                # wrk stops without reading the answers still in flight, so the count may
                # exceed the OK answers by at most one per connection; the usage rows must
                # match the count exactly.
                time.sleep(0.5)
                grew, rows = asyncio.run(hot_growth(database_url, tag))
                grew -= before
                result.extra["ok_answers"] = result.ok
                result.extra["hot_count_grew"] = grew
                result.extra["count_equals_usage_rows"] = grew == rows
                result.extra["unanswered_in_flight"] = grew - result.ok
            if workload == "nested":
                result.extra["sql_statements"] = statements
            results.append(result)
        rss = worker_rss_mb(process)

        # The hot row's limit depends on how many wait for its lock: the best of several
        # client counts is the limit, and the figure at the load's own concurrency is kept.
        hot_by_clients = {
            clients: pgbench(
                database_url,
                "redeem_hot.sql",
                profile.seconds,
                clients,
                run,
                profile.limit_coupons,
            )
            for clients in sorted({4, 8, profile.pgbench_clients})
        }
        hot_limit = max(hot_by_clients.values())
        spread_limit = pgbench(
            database_url,
            "redeem_spread.sql",
            profile.seconds,
            profile.pgbench_clients,
            run,
            profile.limit_coupons,
        )
        # A redemption that consumes a hold, against a plain one, statement by statement.
        plain_ms = statement_latencies_ms(
            database_url,
            "redeem_spread.sql",
            profile.seconds,
            profile.pgbench_clients,
            run,
            profile.limit_coupons,
        )[-1]
        hold_ms, consume_ms = statement_latencies_ms(
            database_url,
            "redeem_held.sql",
            profile.seconds,
            profile.pgbench_clients,
            run,
            profile.limit_coupons,
        )[-2:]
        for result in results:
            if result.name.startswith("W2"):
                result.extra["ratio_to_limit"] = round(result.requests_per_second / hot_limit, 3)
            elif result.name.startswith(("W3", "W6")):
                result.extra["ratio_to_limit"] = round(result.requests_per_second / spread_limit, 3)
            else:
                result.extra["ratio_to_hot_limit"] = round(
                    result.requests_per_second / hot_limit, 3
                )
        return {
            "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
            "profile": asdict(profile),
            "limits": {
                "hot_row_tps": hot_limit,
                "hot_row_tps_by_clients": hot_by_clients,
                "spread_tps": spread_limit,
                "redeem_plain_ms": plain_ms,
                "reserve_ms": hold_ms,
                "redeem_consuming_hold_ms": consume_ms,
            },
            "workloads": [asdict(result) for result in results],
            "worker_rss_mb": rss,
        }
    finally:
        stack.close()
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
        log_dir.cleanup()
        asyncio.run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def report(result: dict[str, Any]) -> str:
    limits = result["limits"]
    lines = [
        "PostgreSQL limit (pgbench, one round trip per redemption): "
        f"hot row {limits['hot_row_tps']:.0f} tps (by clients: "
        + ", ".join(f"{c}: {t:.0f}" for c, t in limits["hot_row_tps_by_clients"].items())
        + f"), 10,000 rows {limits['spread_tps']:.0f} tps",
        "A redemption statement (pgbench -r, 10,000 rows): plain "
        f"{limits['redeem_plain_ms']:.3f} ms, consuming a hold "
        f"{limits['redeem_consuming_hold_ms']:.3f} ms (the hold itself "
        f"{limits['reserve_ms']:.3f} ms)",
        "",
        f"{'workload':38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  ratio / notes",
    ]
    for w in result["workloads"]:
        extra = w["extra"]
        notes = ", ".join(f"{key}={value}" for key, value in extra.items())
        lines.append(
            f"{w['name']:38} {w['requests_per_second']:>9.1f} {w['p50_ms']:>8.2f} "
            f"{w['p99_ms']:>8.2f} {w['errors']:>7}  {notes}"
        )
    lines += ["", f"worker RSS after the run (MB): {result['worker_rss_mb']}"]
    return "\n".join(lines)


PROFILE = FULL


def main() -> None:
    global PROFILE  # wrk() reads the spread size of the chosen profile
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds, tiny data")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--seconds", type=int, help="seconds per workload")
    parser.add_argument("--only", nargs="*", help="workloads to run, e.g. W1 W2 (default all)")
    args = parser.parse_args()
    PROFILE = SMOKE if args.smoke else FULL
    if args.seconds:
        PROFILE.seconds = args.seconds
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    result = run_benchmark(admin_url, PROFILE, set(args.only) if args.only else None)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
