"""Every GraphQL error names its code and the request (contract, "HTTP and GraphQL-over-HTTP").

Clients branch on `extensions.code` and quote `extensions.requestId`. Errors the schema
raises carry their own code (INVALID_INPUT, FORBIDDEN, INTERNAL_SERVER_ERROR, ...); those
graphql-core reports get the code of the step that refused the request, as Apollo's
clients know them: GRAPHQL_PARSE_FAILED (the text, or the token limit),
GRAPHQL_VALIDATION_FAILED (the schema's rules, the depth and alias limits) or
BAD_USER_INPUT (variable values). Validation errors are coded here, where the step is
known; `with_codes` completes the rest once the result is final (a parse error never
reaches an extension's end of operation).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from graphql_api.request_id import current_request_id

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"


class ValidationErrorCodes(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        self.refused = bool(self.execution_context.pre_execution_errors)

    def on_operation(self) -> Iterator[None]:
        self.refused = False
        yield
        result = self.execution_context.result
        if self.refused and result is not None and result.errors:
            result.errors = [
                _copy(error, {"code": VALIDATION_FAILED, **(error.extensions or {})})
                for error in result.errors
            ]


def with_codes(result: ExecutionResult) -> ExecutionResult:
    """`result` with every error naming its code and the id of the request being answered."""
    if result.errors:
        request_id = current_request_id()
        result.errors = [_completed(error, request_id) for error in result.errors]
    return result


def _completed(error: GraphQLError, request_id: str | None) -> GraphQLError:
    extensions = dict(error.extensions or {})
    if "code" not in extensions and error.path is None:
        extensions["code"] = (
            PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else BAD_USER_INPUT
        )
    if request_id:
        extensions["requestId"] = request_id
    return _copy(error, extensions)


def _copy(error: GraphQLError, extensions: dict[str, object]) -> GraphQLError:
    """A copy, never the error itself: validation results are cached and shared between
    requests, so writing one request's id into them would hand it to the next."""
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )
