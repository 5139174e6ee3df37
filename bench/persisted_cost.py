"""What persisted operations cost a request: the same app with and without the middleware.

    .venv/bin/python bench/persisted_cost.py [--requests 3000] [--rounds 5]

Two figures, both in this process (no network, so the differences are not lost in a
socket's noise), on DATABASE_URL's server (default postgresql://postgres@127.0.0.1:5432/
postgres), where it makes and drops a database:

- the middleware alone, in front of an app that answers at once: the time it adds to a
  plain request (APQ on, the default), to one in allow-list mode (a listed text, and an
  unlisted one it refuses), and to one it resolves by hash (the body rewritten);
- a whole `couponByCode` through the real app (compiled path, one prepared statement on
  the database), sent as text to the app without the middleware and with it, and by hash.

Each round times every variant in turn, in an order that alternates; the medians of the
rounds' per-request means are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, from anywhere

from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from graphql_api.auth import ADMIN, Caller
from graphql_api.persisted_operations import PersistedOperations
from graphql_api.settings import Settings

LOOKUP = "query Lookup($code: String!) { couponByCode(code: $code) { code status discountValue } }"
UNLISTED = LOOKUP.replace("discountValue", "type")
HASH = hashlib.sha256(LOOKUP.encode()).hexdigest()
BY_TEXT = json.dumps({"query": LOOKUP, "variables": {"code": "BENCH-1"}}).encode()
UNLISTED_TEXT = json.dumps({"query": UNLISTED, "variables": {"code": "BENCH-1"}}).encode()
REGISTER = json.dumps(
    {
        "query": LOOKUP,
        "variables": {"code": "BENCH-1"},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASH}},
    }
).encode()
BY_HASH = json.dumps(
    {
        "variables": {"code": "BENCH-1"},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASH}},
    }
).encode()
STOREFRONT = Caller("storefront")
FOUND = b'200 {"data":{"couponByCode":{"code":"BENCH-1"'
CREATE = json.dumps(
    {
        "query": "mutation ($input: CreateTimedCouponInput!) "
        "{ createTimedCoupon(input: $input) { errors { code } } }",
        "variables": {
            "input": {
                "code": "BENCH-1",
                "discountType": "FIXED",
                "discountValue": "5",
                "validFrom": "2020-01-01T00:00:00Z",
                "validUntil": "2999-01-01T00:00:00Z",
                "maxUsesPerUser": 1,
            }
        },
    }
).encode()

# A request sent again and again; it answers its status and body as b"200 {...}".
Call = Callable[[], Awaitable[bytes]]


KEY = b"Bearer bench-storefront"


def scope_for(caller: Caller) -> Scope:
    """A request as the API-key check hands it on (for the whole app, which runs that check
    itself, the storefront's key too)."""
    return {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"authorization", KEY)],
        "state": {"caller": caller},
    }


def request(app: Any, body: bytes, caller: Caller = ADMIN) -> Call:
    """One POST /graphql with `body` to an ASGI app."""

    async def call() -> bytes:
        status = 0
        answer = b""
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status, answer
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                answer += message.get("body", b"")

        await app(scope_for(caller), receive, send)
        return b"%d %s" % (status, answer)

    return call


async def answered_at_once(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind the middleware when only the middleware is timed: reads the body (as
    the compiled path does) and answers 200."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def mean_seconds(call: Call, requests: int, expected: bytes) -> float:
    for _ in range(50):  # warm: plans, caches, prepared statements
        answer = await call()
        if not answer.startswith(expected):
            raise SystemExit(f"expected {expected!r}, answered {answer!r}")
    started = time.perf_counter()
    for _ in range(requests):
        await call()
    return (time.perf_counter() - started) / requests


async def rounds_of(
    variants: dict[str, tuple[Call, bytes]], requests: int, rounds: int
) -> dict[str, float]:
    means: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for turn in range(rounds):
        for name in names if turn % 2 == 0 else reversed(names):
            call, expected = variants[name]
            means[name].append(await mean_seconds(call, requests, expected))
    return {name: statistics.median(values) for name, values in means.items()}


def without(app: Starlette, middleware: Any) -> Starlette:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not middleware]
    return app


async def measure(database_url: str, requests: int, rounds: int) -> None:
    from graphql_api.app import create_app

    with tempfile.TemporaryDirectory(prefix="coupons-bench-") as folder:
        manifest = Path(folder) / "persisted-documents.json"
        manifest.write_text(json.dumps({HASH: LOOKUP}))
        default = Settings(database_url=database_url)
        listed = Settings(
            database_url=database_url,
            persisted_operations=manifest,
            persisted_operations_only=True,
            api_keys="admin:bench-admin,storefront:bench-storefront",
        )
        apq = PersistedOperations(answered_at_once, settings=default)
        only = PersistedOperations(answered_at_once, settings=listed)
        apq.registry.register(HASH, LOOKUP)
        middleware_alone = await rounds_of(
            {
                "no middleware": (request(answered_at_once, BY_TEXT), b"200 {}"),
                "APQ on, text": (request(apq, BY_TEXT), b"200 {}"),
                "APQ on, by hash": (request(apq, BY_HASH), b"200 {}"),
                "allow-list, listed text": (request(only, BY_TEXT, STOREFRONT), b"200 {}"),
                "allow-list, unlisted text": (
                    request(only, UNLISTED_TEXT, STOREFRONT),
                    b"403 ",
                ),
            },
            requests,
            rounds,
        )
        print("the middleware alone, per request (microseconds):")
        base = middleware_alone["no middleware"]
        for name, seconds in middleware_alone.items():
            print(f"  {name:28} {seconds * 1e6:8.2f}  (+{(seconds - base) * 1e6:.2f})")

        plain = without(create_app(default), PersistedOperations)
        with_apq = create_app(default)
        with_list = create_app(listed)
        async with (
            plain.router.lifespan_context(plain),
            with_apq.router.lifespan_context(with_apq),
            with_list.router.lifespan_context(with_list),
        ):
            for app, body in ((plain, CREATE), (with_apq, REGISTER)):  # the coupon, the hash
                answer = await request(app, body)()
                if not answer.startswith(b'200 {"data"') or b'"errors":[{' in answer:
                    raise SystemExit(
                        f"could not create the coupon or register the hash: {answer!r}"
                    )
            whole = await rounds_of(
                {
                    "without the middleware": (request(plain, BY_TEXT), FOUND),
                    "with it (APQ on), text": (request(with_apq, BY_TEXT), FOUND),
                    "with it, by hash": (request(with_apq, BY_HASH), FOUND),
                    "allow-list, listed text": (request(with_list, BY_TEXT, STOREFRONT), FOUND),
                },
                requests,
                rounds,
            )
        print("couponByCode through the whole app, per request (microseconds):")
        base = whole["without the middleware"]
        for name, seconds in whole.items():
            print(f"  {name:28} {seconds * 1e6:8.2f}  ({seconds / base:.3f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    from db.migrate import upgrade_to_head
    from tests.support.database import throwaway_database

    with throwaway_database() as url:
        upgrade_to_head(url)
        asyncio.run(measure(url, arguments.requests, arguments.rounds))


if __name__ == "__main__":
    main()
