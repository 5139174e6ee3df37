"""A webhook receiver for the benchmark: answers every POST with 204, as fast as it can.

python bench/receiver.py PORT
"""

from __future__ import annotations

import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=204)


def main() -> None:
    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
