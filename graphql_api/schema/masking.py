"""Unexpected errors reach clients as one opaque message with a request id; logs get the rest.

A database that does not answer is told apart: SERVICE_UNAVAILABLE says "try again",
INTERNAL_SERVER_ERROR says "our bug".
"""

from __future__ import annotations

import logging

import asyncpg
import sqlalchemy.exc
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("graphql_api.errors")

INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "Service temporarily unavailable: the database is not answering"

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connect or statement timeout
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # a connection closed under us
    asyncpg.exceptions.OperatorInterventionError,  # shutdown, pg_terminate_backend, not ready
    asyncpg.exceptions.QueryCanceledError,
)


def is_database_outage(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUTAGE_TYPES):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False


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
        where = ".".join(str(key) for key in error.path or ()) or "operation"
        original = error.original_error
        if original is not None and is_database_outage(original):
            log.warning(
                "database unavailable in %s: %s",
                where,
                type(original).__name__,
                extra={"request_id": request_id},
            )
            code, message = "SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE
        else:
            log.error(
                "unexpected error in %s",
                where,
                exc_info=original,
                extra={"request_id": request_id},
            )
            code, message = "INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": code, "requestId": request_id},
        )
