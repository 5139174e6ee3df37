"""Unexpected errors reach clients as one opaque message with a request id; logs get the rest."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from graphql_api.schema.errors import PublicError

log = logging.getLogger("graphql_api.errors")

INTERNAL_MESSAGE = "Internal server error"


def _is_unexpected(error: GraphQLError) -> bool:
    # No original error: a syntax or validation error graphql-core made about the request.
    original = error.original_error
    return original is not None and not isinstance(original, PublicError)


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
