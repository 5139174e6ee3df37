"""Unexpected errors in GraphQL execution reach clients as one opaque message with a
request id; the log gets the rest (see graphql_api.failures)."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from graphql_api.failures import public_failure
from graphql_api.json_response import INTERNAL_MESSAGE
from graphql_api.request_id import current_request_id


def _is_unexpected(error: GraphQLError) -> bool:
    """Only a failure while resolving a field, that no code meant for the client, is masked.

    Errors without a path come from reading the request (syntax, validation, variable
    coercion, a scalar refusing a value): they describe the client's mistake.
    """
    original = error.original_error
    if error.path is None or original is None:
        return False
    return not isinstance(original, GraphQLError)


class MaskInternalErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message=INTERNAL_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        where = ".".join(str(key) for key in error.path or ()) or "operation"
        # _is_unexpected lets only errors with an original through.
        original = error.original_error or error
        code, message = public_failure(original, where)
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": code, "requestId": current_request_id()},
        )
