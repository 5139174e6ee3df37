"""What every resolver gets: the request, the database, the per-request loaders."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from graphql_api.loaders import Loaders


@dataclass(slots=True)
class Context:
    request: Request
    response: Response
    sessionmaker: async_sessionmaker[AsyncSession]
    loaders: Loaders
    request_id: str

    @property
    def client_ip(self) -> str | None:
        """The TCP peer's address."""
        return None if self.request.client is None else self.request.client.host

    @property
    def user_agent(self) -> str | None:
        return self.request.headers.get("user-agent")


Info = strawberry.Info[Context, None]
