"""What an unexpected failure tells the client, and the log line that tells us.

A database that does not answer is told apart: SERVICE_UNAVAILABLE says "try again",
INTERNAL_SERVER_ERROR says "our bug". Every path that answers requests (GraphQL execution,
the compiled paths, the request deadline, the last-line middleware) classifies and logs
through `public_failure`, so none of them can hide an error.
"""

from __future__ import annotations

import logging

import asyncpg
import sqlalchemy.exc

from graphql_api.json_response import INTERNAL_MESSAGE, UNAVAILABLE_MESSAGE

log = logging.getLogger("graphql_api.errors")

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connect or statement timeout, or the request's deadline
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


def public_failure(error: BaseException, where: str) -> tuple[str, str]:
    """(extensions.code, message) for an unexpected failure, logged (the logging filter adds
    the request id, which the answer carries in extensions.requestId).

    An outage is a warning without a stack (it is not our bug); anything else is an error
    with the stack, which only the log gets.
    """
    if is_database_outage(error):
        log.warning("database unavailable in %s: %s", where, type(error).__name__)
        return "SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE
    log.error("unexpected error in %s", where, exc_info=error)
    return "INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE
