"""Unexpected errors reach clients as one opaque message with a request id; logs get the rest."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("graphql_api.errors")

INTERNAL_MESSAGE = "Internal server error"


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
        request_id = getattr(self.execution_context.context, "request_id", None)
        log.error(
            "unexpected error in %s",
            ".".join(str(key) for key in error.path or ()) or "operation",
            exc_info=error.original_error,
            extra={"request_id": request_id},
        )
        return GraphQLError(
            message=INTERNAL_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
