"""The /graphql endpoint: strawberry's ASGI view with exact JSON numbers, our context, the
GraphQL-over-HTTP request rules, JSON for every refusal, and the request deadline."""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.http.types import QueryParams
from strawberry.types import ExecutionResult

from db.engine import Database
from db.hot import HotPool
from graphql_api.access_log import record_graphql
from graphql_api.auth import Caller
from graphql_api.context import Context
from graphql_api.deadline import DeadlineExceededError, within_deadline
from graphql_api.documents import document_shape
from graphql_api.error_codes import with_codes
from graphql_api.failures import public_failure
from graphql_api.graphiql import graphiql_page
from graphql_api.json_response import error_response
from graphql_api.loaders import Loaders
from graphql_api.media_types import GRAPHQL_RESPONSE, chosen_media_type, request_error_status
from graphql_api.request_body import decode_request
from graphql_api.request_id import current_request_id
from graphql_api.services.guessing import GuessPolicy
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
# Set on a request whose answer is a request error in application/graphql-response+json:
# that answer has no `data` entry.
REQUEST_ERROR = "coupons.request_error"


class RequestRefusedError(HTTPException):
    """A request the service will not run, answered with `status` and nothing executed."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None):
        super().__init__(status, reason)
        self.headers = headers


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        *args: Any,
        settings: Settings,
        db: Database,
        hot: HotPool,
        guess_policy: GuessPolicy,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.db = db
        self.hot = hot
        self.guess_policy = guess_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response: Response
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as refusal:
            # Strawberry answers these in plain text; clients get the GraphQL error shape.
            headers = getattr(refusal, "headers", None)
            if refusal.status_code == 405 and headers is None:  # strawberry's GET/POST check
                headers = {"allow": "GET, POST"}
            response = error_response(refusal.status_code, refusal.reason, headers)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        # One reading of a body for every layer (request_body.py); what does not decode
        # raises a JSONDecodeError, which strawberry answers 400.
        value = decode_request(data)
        # The body arrives as bytes (GET's `variables` and `extensions` as str, which
        # strawberry checks itself): a request is one JSON object.
        if isinstance(data, bytes) and isinstance(value, list):
            raise RequestRefusedError(
                400, "Batched requests are not supported: send one operation per request"
            )
        if isinstance(data, bytes) and not isinstance(value, dict):
            raise RequestRefusedError(400, "The request body must be a JSON object")
        return value

    def encode_json(self, data: object) -> bytes:
        # Every amount is a string by now (the Decimal scalar), so nothing here is money math.
        return orjson.dumps(data)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # Only a browser asking for HTML: strawberry also shows it for */*, which curl and
        # fetch send, so a GET whose query went missing got a page instead of its error.
        return (
            request.method == "GET"
            and request.query_params.get("query") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type.lower() != JSON_TYPE:  # media types are case-insensitive
                raise RequestRefusedError(415, f"Send GraphQL requests as {JSON_TYPE}")
        return await super().parse_http_body(request)

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        # Strawberry would blame the "request body"; over GET the fault is a parameter.
        decoded: dict[str, Any] = dict(params)
        for name in ("variables", "extensions"):
            if decoded.get(name):
                try:
                    decoded[name] = self.decode_json(decoded[name])
                except json.JSONDecodeError:
                    raise RequestRefusedError(
                        400, f"The {name} parameter must be a JSON object"
                    ) from None
        return decoded

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        _check_operation_chosen(request_data, request_adapter.method)
        try:
            result = await within_deadline(
                super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                ),
                self.settings.request_timeout,
            )
        except DeadlineExceededError as error:
            return _unavailable(context, request_data, error)
        # A document that did not parse never reached RequestOutcome's end of operation.
        if record_graphql(request.scope).get("outcome") is None:
            record_graphql(request.scope, root_fields="invalid", outcome="invalid_request")
        result = with_codes(result)
        if chosen_media_type(request.scope) == GRAPHQL_RESPONSE:
            status = request_error_status(result.data, result.errors)
            if status is not None:
                sub_response.status_code = status
                request.scope[REQUEST_ERROR] = True
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = process_result(result)
        if request.scope.get(REQUEST_ERROR):
            response.pop("data", None)  # GraphQL-over-HTTP: a request error has no data entry
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our page from our own files under a same-origin-only policy, not strawberry's,
        # which loads GraphiQL from a CDN (strawberry asks only when graphql_ide is set).
        return graphiql_page()

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
            db=self.db,
            hot=self.hot,
            loaders=Loaders.for_request(self.db, self.hot),
            # No caller: the GraphiQL page was let through without a key; it runs nothing.
            caller=state.get("caller") or Caller("storefront"),
            guess_policy=self.guess_policy,
        )


def _check_operation_chosen(request_data: GraphQLRequestData, method: str) -> None:
    """GraphQL-over-HTTP: a document with several operations runs only the one named in
    `operationName`; without it, or with a name the document lacks, nothing runs (400).
    A mutation is never run over GET (405)."""
    shape = None if request_data.query is None else document_shape(request_data.query)
    if shape is None or not shape.operations:
        return  # no query, or one that does not parse: execution reports it as usual
    name = request_data.operation_name
    if name is not None and not isinstance(name, str):
        raise RequestRefusedError(400, "operationName must be a string or null")
    operation = shape.selected(name)
    if operation is None and name is None:
        raise RequestRefusedError(
            400,
            f"The document holds {len(shape.operations)} operations: "
            "name the one to run in operationName",
        )
    if operation is None:
        raise RequestRefusedError(400, "operationName names no operation in the document")
    if method == "GET" and operation.type is not OperationType.QUERY:
        raise RequestRefusedError(
            405, f"A {operation.type.value} must be sent with POST", {"allow": "POST"}
        )


def _unavailable(
    context: Context, request_data: GraphQLRequestData, error: DeadlineExceededError
) -> ExecutionResult:
    code, message = public_failure(error, "request deadline")
    # RequestOutcome named the root fields if the document got as far as validation.
    record_graphql(
        context.request.scope, operation_name=request_data.operation_name, outcome="unavailable"
    )
    extensions = {"code": code, "requestId": current_request_id()}
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions=extensions)])
