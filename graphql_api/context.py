"""What every resolver gets: the request, the database, the per-request loaders."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from starlette.requests import Request
from starlette.responses import Response

from db.engine import Database
from db.hot import HotPool
from graphql_api.auth import Caller
from graphql_api.client_ip import client_ip_of
from graphql_api.loaders import Loaders
from graphql_api.services.guessing import GuessPolicy
from graphql_api.settings import Settings


@dataclass(slots=True)
class Context:
    request: Request
    response: Response
    settings: Settings
    db: Database
    hot: HotPool
    loaders: Loaders
    caller: Caller
    guess_policy: GuessPolicy  # the app's one policy, built by create_app

    @property
    def client_ip(self) -> str | None:
        """The TCP peer's address, or the forwarded one when the peer is a trusted proxy."""
        return client_ip_of(self.request.scope, self.settings.proxy_networks)

    @property
    def user_agent(self) -> str | None:
        return self.request.headers.get("user-agent")


Info = strawberry.Info[Context, None]
