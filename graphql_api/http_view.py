"""The /graphql endpoint: strawberry's ASGI view with exact JSON numbers and our context."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from db.hot import HotPool
from graphql_api.auth import Caller
from graphql_api.context import Context
from graphql_api.loaders import Loaders
from graphql_api.settings import Settings


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        *args: Any,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        hot: HotPool,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.hot = hot

    def decode_json(self, data: str | bytes) -> object:
        # Numbers with a fraction stay exact: money never passes through a binary float.
        try:
            return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            raise
        # Undecodable bytes, nesting past the recursion limit, integers past Python's digit
        # limit, exponents past Decimal's: all the client's malformed JSON, so a 400.
        except (ValueError, RecursionError, ArithmeticError) as error:
            raise json.JSONDecodeError(f"unreadable JSON: {type(error).__name__}", "", 0) from None

    def encode_json(self, data: object) -> bytes:
        # Every amount is a string by now (the Decimal scalar), so nothing here is money math.
        return orjson.dumps(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if not isinstance(request, Request) or not isinstance(response, Response):
            raise TypeError("the coupon API serves HTTP only, not subscriptions")
        state = request.scope.get("state", {})
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            hot=self.hot,
            loaders=Loaders.for_request(self.sessionmaker),
            request_id=state.get("request_id", ""),
            # No caller: the GraphiQL page was let through without a key; it runs nothing.
            caller=state.get("caller") or Caller("storefront"),
        )
