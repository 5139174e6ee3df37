"""What the media-type choice costs a request: GraphQLResponseMediaType alone, in front of
an app that answers at once, against the same app without it.

    .venv/bin/python bench/media_type_cost.py [--requests 50000] [--rounds 7]

In one process (no socket, so microseconds are not lost in noise); prints the median over
the rounds of the time added per request, for no Accept header, `application/json`, and an
Accept that makes it write `application/graphql-response+json`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, from anywhere

from starlette.types import ASGIApp, Message, Scope

from graphql_api.media_types import GraphQLResponseMediaType

ACCEPTS = (None, b"application/json", b"application/graphql-response+json, application/json;q=0.9")


async def answer_at_once(scope: Scope, receive: object, send: object) -> None:
    start = {"type": "http.response.start", "status": 200}
    await send({**start, "headers": [(b"content-type", b"application/json")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[operator]


async def receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Message) -> None:
    return None


def request(accept: bytes | None) -> Scope:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    return {
        "type": "http",
        "path": "/graphql",
        "method": "POST",
        "headers": headers if accept is None else [*headers, (b"accept", accept)],
    }


async def microseconds_each(app: ASGIApp, accept: bytes | None, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        await app(request(accept), receive, send)
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int, rounds: int) -> None:
    bare: ASGIApp = answer_at_once
    wrapped = GraphQLResponseMediaType(bare)
    for accept in ACCEPTS:
        added = []
        for _ in range(rounds):
            without = await microseconds_each(bare, accept, requests)
            added.append(await microseconds_each(wrapped, accept, requests) - without)
        label = "no Accept" if accept is None else accept.decode()
        print(f"{label}: +{statistics.median(added):.2f} µs a request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
